"""Output: models in, text or JSON out. Renderers never probe."""
