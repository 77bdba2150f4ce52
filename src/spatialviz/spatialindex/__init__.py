"""A spatial index over a canonical Parquet file: pick, box, sphere and k-nearest queries
with bounded memory and a scan budget. Pure engine: no web, database or job imports."""
