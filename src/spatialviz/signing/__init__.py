"""Tile URL signatures and share-link tokens (HMAC), checked without a database.
Pure engine: no web, database or job imports."""
