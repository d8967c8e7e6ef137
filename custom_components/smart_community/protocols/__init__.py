"""Speak the network protocols of community devices, without Home Assistant."""
