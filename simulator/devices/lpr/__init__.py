"""Pieces of the licence-plate camera's HTTP push protocol (Vzenith 臻识 and kin).

The camera is an HTTP client: it POSTs recognition results, IO-input changes and
heartbeats to a server, and the server's reply bodies are its command channel
(see shared/notes/protocols.md §2.1 and the Vzenith HTTP interface V1.9.7).
"""
