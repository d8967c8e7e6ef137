"""Play the community's devices over loopback, each speaking its real wire protocol.

The simulator is a separate program (``python -m simulator``); it never imports the
integration, so a codec bug cannot cancel out on both sides of a test.
"""
