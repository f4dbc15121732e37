"""Destination domains: registered, verified; a click to a listed, unverified host is refused."""
