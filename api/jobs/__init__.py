"""Durable jobs: the queue in the store, the supervisor in the server, workers as processes."""
