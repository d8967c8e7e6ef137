"""Speak OCPP 1.6J as the central system that e-bike charging piles dial.

``server`` accepts charge points on a websocket port, ``connection`` holds
each one's request/answer session, ``messages`` reads and writes OCPP-J
frames and ``schemas`` checks payloads against the standard's JSON schemas.
Nothing here knows Home Assistant.
"""
