"""A small HTTP client for the Spatialviz API, used by the CLI."""

from pathlib import Path

DEFAULT_RESUME_FILE = Path.home() / ".cache" / "spatialviz" / "uploads.json"
"""Where ``spatialviz upload`` keeps what it needs to resume (upload URLs by file)."""
