"""Funnel analytics: clicks (qualified, bots), conversions, revenue, test conversions, freshness."""
