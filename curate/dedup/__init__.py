"""Deduplication: exact, near (MinHash LSH) and semantic, and the clusters they form."""
