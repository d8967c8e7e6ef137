"""Pieces of the simulated Modbus power meter: register layouts and the load model."""
