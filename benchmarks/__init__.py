"""Benchmarks of the Smart Community integration's pure-Python core."""
