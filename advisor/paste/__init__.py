"""advisor explain: the same diagnosis from what users paste."""
