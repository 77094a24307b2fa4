"""Recipes: build a training set and an eval pool for a task from public data."""
