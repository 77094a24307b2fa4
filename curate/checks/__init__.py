"""Per-record checks: quality heuristics, PII and secrets, train/eval leakage."""
