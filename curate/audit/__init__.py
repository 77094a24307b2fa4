"""Set-level audit: contradictions, format profile, diversity, volatile facts, the verdict."""
