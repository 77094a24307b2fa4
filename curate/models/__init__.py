"""Models by name: the Generator and Embedder contracts, backends, caches, name resolution."""
