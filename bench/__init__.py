"""Benchmarks: each prints JSON, run side by side with its peer."""
