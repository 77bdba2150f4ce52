"""A small HTTP client for the Spatialviz API, used by the CLI."""
