"""Tests of the recognition models and the vision code."""
