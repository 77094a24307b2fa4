"""The curation pipeline: the step contract, its config, the one entry point and its result."""
