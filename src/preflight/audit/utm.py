"""The configured UTM policy (`policy.utm`), applied to the live links' tags."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from preflight.config.live import TAG_NAMES, UtmPolicy
from preflight.core.categories import Category
from preflight.lifecycle.checks import fail
from preflight.lifecycle.failures import NotChecked


def violations(policy: UtmPolicy, tags: Mapping[str, str]) -> list[str]:
    """What one link's tags break, in words ("utmMedium 'Paid_Social' is not lowercase")."""
    found = []
    for tag in policy.required:
        if not tags.get(tag):
            found.append(f"{tag} is missing (policy.utm.required)")
    for tag in TAG_NAMES:
        value = tags.get(tag)
        if not value:
            continue
        if policy.lowercase and value != value.lower():
            found.append(f"{tag} {value!r} is not lowercase (policy.utm.lowercase)")
        allowed = policy.allowed.of(tag)
        if allowed is not None and value not in allowed:
            found.append(f"{tag} {value!r} is none of {', '.join(allowed)} (policy.utm.allowed.{tag})")
    campaign = tags.get("utmCampaign")
    if campaign and policy.utm_campaign_pattern and not re.search(policy.utm_campaign_pattern, campaign):
        found.append(
            f"utmCampaign {campaign!r} does not match {policy.utm_campaign_pattern} (policy.utm.utm_campaign_pattern)"
        )
    return found


def split_campaign(tags_by_slug: Mapping[str, Mapping[str, str]]) -> dict[str, list[str]] | None:
    """utmCampaign value -> its slugs, when a campaign's variants do not share one (else None)."""
    values: dict[str, list[str]] = {}
    for slug, tags in tags_by_slug.items():
        values.setdefault(tags.get("utmCampaign") or "(none)", []).append(slug)
    return values if len(values) > 1 else None


def tags_follow_policy(run: Any, variant: Any) -> list[str]:
    """A6: the live link's tags follow `policy.utm`."""
    policy = _policy(run)
    link, read = run.live_link(variant)
    tags = run.tags_of(link)
    found = violations(policy, tags)
    if found:
        raise fail(
            Category.UTM_POLICY,
            f"the live link {variant.slug}'s tags break the UTM policy: " + "; ".join(found),
            expected="tags that follow policy.utm",
            actual=tags,
            exchanges=read.exchanges,
            cause="a live link's tags break the configured UTM policy",
            next_step=f"in the dashboard, edit link {variant.slug}'s tracking tags: " + "; ".join(found),
        )
    return sorted(tags)


def one_utm_campaign(run: Any) -> str:
    """A6: the campaign's variants share one utmCampaign (policy.utm.one_utm_campaign)."""
    policy = _policy(run)
    if not policy.one_utm_campaign:
        raise NotChecked(
            "policy.utm.one_utm_campaign is off: variants may carry different utmCampaign values",
            would_catch="variants of one campaign that analytics reads as different campaigns",
        )
    tags, exchanges = {}, []
    for variant in run.campaign.variants:
        read = run.reads.link(variant.slug, step=run.step)
        exchanges += read.exchanges
        if read.body is not None:
            tags[variant.slug] = run.tags_of(read.body)
    split = split_campaign(tags)
    if split:
        found = "; ".join(f"{value} on {', '.join(slugs)}" for value, slugs in split.items())
        raise fail(
            Category.UTM_POLICY,
            f"the variants of {run.campaign.campaign_id} carry different utmCampaign values: {found}",
            expected="one utmCampaign across the campaign's variants (policy.utm.one_utm_campaign)",
            actual=split,
            exchanges=exchanges,
            cause="a campaign's variants carry different utmCampaign values",
            next_step="in the dashboard, give every variant link of the campaign the same utmCampaign, so analytics "
            "reads them as one campaign",
        )
    return next(iter(tags.values()), {}).get("utmCampaign", "")


def _policy(run: Any) -> UtmPolicy:
    if run.policy is None or run.policy.utm is None:
        raise NotChecked(
            "no UTM policy configured (policy.utm in the run's YAML): the tags are not checked against one",
            would_catch="tags off the house rules (missing, not lowercase, a value not allowed)",
        )
    return run.policy.utm
