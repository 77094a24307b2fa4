"""Getting data in and out: input row shapes, file types, shards, ingest, writers, eval items."""
