"""Tests of the Smart Community integration, its registry and its simulator."""
