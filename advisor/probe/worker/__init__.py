"""Scripts run inside the target interpreter. Self-contained: standard library and torch only."""
