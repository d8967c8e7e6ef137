"""Speak the Hikvision ISAPI subset of a simulated face access terminal.

The modules hold the parts that do not depend on the HTTP server: Digest
authentication (``digest``), ISAPI status answers (``status``), the event log and
its wire shapes (``events``), persons and faces (``people``), the alertStream
framing (``stream``) and the pictures the terminal serves (``pictures``).
"""
