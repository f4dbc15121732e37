"""Destination trust: a host, or a parent domain of it, listed and not VERIFIED (gap)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from preflight.audit import routing
from preflight.core.categories import Category
from preflight.lifecycle.checks import fail


def untrusted(domains: Iterable[Mapping[str, Any]], url: str) -> Mapping[str, Any] | None:
    """The listed entry that refuses a click to `url` (the most specific one), or None."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if not host:
        return None
    found = None
    for entry in domains:
        domain = str(entry.get("domain") or "").lower().rstrip(".")
        if not domain or str(entry.get("status") or "").upper() == "VERIFIED":
            continue
        if host == domain or host.endswith("." + domain):
            if found is None or len(domain) > len(str(found.get("domain"))):
                found = entry
    return found


def destinations_are_trusted(run: Any, variant: Any) -> list[str]:
    """A5: no destination a visitor of the link may reach (its own, a routing rule's) is on a domain
    that is listed and not VERIFIED."""
    link, read = run.live_link(variant)
    domains = run.reads.destination_domains(step=run.step)
    rules = run.reads.personalization_rules(step=run.step)
    refused = []
    for url, why in routing.reachable(link, rules.body):
        entry = untrusted(domains.body, url)
        if entry is not None:
            refused.append(f"{url} ({why}) is on {entry.get('domain')}, {entry.get('status')}")
    hosts = sorted({str(urlsplit(url).hostname) for url, _ in routing.reachable(link, rules.body)})
    run.artifacts.put("destinationHosts", hosts)
    if refused:
        raise fail(
            Category.DESTINATION_TRUST,
            f"clicks on {variant.slug} would be refused (403 destination_unverified): " + "; ".join(refused),
            expected="every destination host VERIFIED, or not listed",
            actual=refused,
            exchanges=read.exchanges + domains.exchanges + rules.exchanges,
            cause="a destination domain is listed but not VERIFIED",
            next_step="verify the named domain(s) in the dashboard (Destination domains), or point the link and its "
            "rules at a verified domain, then re-run the audit",
        )
    return hosts
