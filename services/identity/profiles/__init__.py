"""The access grid served as data."""
