"""Memory and speed estimates: pure functions of (model, job, card)."""
