"""Readers and writers for spatial file formats; no web, DB or job imports."""
