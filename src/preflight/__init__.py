"""campaign-preflight: prove a 10xDotIn A/B campaign funnel works before ad spend ramps."""

__version__ = "0.1.0"
