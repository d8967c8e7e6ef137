"""Test the residents registry, plates and CSV import without Home Assistant."""
