"""Contest intake: what a worker's contest of an access files in the register (from audit)."""
