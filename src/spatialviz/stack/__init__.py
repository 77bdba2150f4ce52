"""`make stack`: the production topology started for real on one machine, from Debian's
packages, each tier in its own network namespace (docs/operations.md, "make stack").

This package is operations tooling, not part of the served product: nothing in the API or
the workers imports it.
"""
