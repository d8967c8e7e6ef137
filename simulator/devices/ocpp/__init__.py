"""Pieces of the simulated OCPP 1.6J charge point (an e-bike charging pile).

``options`` reads the scenario options and action parameters, ``battery`` holds
the charging curve of an e-bike battery, ``port`` one connector with its meter
and status, and ``wire`` the charge-point side of the ``ocpp`` library bound to
a websocket.
"""
