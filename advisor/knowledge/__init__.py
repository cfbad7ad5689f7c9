"""Loaders and schemas for the YAML knowledge in ``data/``."""
