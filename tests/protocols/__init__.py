"""Tests of the device protocol clients."""
