"""Pieces of GB/T 26875.3-2011, the fire-alarm transmission device's protocol.

A user information transmission device (用户信息传输装置) dials the monitoring
centre over TCP and sends ``@@ … ##`` frames; the centre acknowledges each one
(shared/notes/protocols.md §3.2). This package is the simulator's own codec: it
shares no code with the integration, so a bug cannot cancel out on both sides.
"""
