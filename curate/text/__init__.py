"""Text helpers every step shares: normalisation for hashing, final answers, stop words."""
