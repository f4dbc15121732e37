"""Personalization rules (per handle) and the routing order they take part in."""
