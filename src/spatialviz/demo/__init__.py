"""Demo data made on the spot, so `make run` shows something real on the first screen."""

DEFAULT_POINTS = 1_000_000
"""Points in the demo LiDAR cloud unless ``spatialviz demo --points`` says otherwise (here,
not in .command, so that the command line can offer the option without importing the app)."""
