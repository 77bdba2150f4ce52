"""HTTP rules for immutable, content-addressed blobs: ETags, conditional requests, byte
ranges, content types, cache lifetimes. Pure engine: no web, database or job imports."""
