"""Demo data made on the spot, so `make run` shows something real on the first screen."""
