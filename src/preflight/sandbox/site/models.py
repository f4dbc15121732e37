"""The plain data the site's state finds and its pages show (apart, so neither imports the other)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SitePage:
    """The variant a landing page belongs to."""

    handle: str
    campaign_id: str
    slug: str
    title: str
    goal_type: str
