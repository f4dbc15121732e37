"""Destination trust: a host, or a parent domain of it, listed and not VERIFIED, refuses the click
(gap); a `*.` entry (`*.gharart.example`) covers the subdomains of its domain."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from preflight.audit import routing
from preflight.audit.live import citing
from preflight.core.categories import Category
from preflight.lifecycle.checks import fail
from preflight.lifecycle.failures import Unjudged


def untrusted(domains: Iterable[Mapping[str, Any]], url: str) -> Mapping[str, Any] | None:
    """The listed entry that refuses a click to `url` (the most specific one), or None."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if not host:
        return None
    found = None
    for entry in domains:
        if str(entry.get("status") or "").upper() == "VERIFIED":
            continue
        domain = entry.get("domain")
        if not isinstance(domain, str) or not domain.strip():
            raise Unjudged(
                f"a destination domain listed {entry.get('status')} names no domain ({domain!r}): which hosts it "
                "refuses cannot be told",
                fix="open Destination domains in the dashboard and check each entry has its domain; report the answer "
                "to 10xDotIn with the request id, then re-run the audit",
            )
        if covers(domain, host) and (found is None or len(domain) > len(str(found.get("domain")))):
            found = entry
    return found


def covers(domain: str, host: str) -> bool:
    """The listed `domain` is `host` or a parent domain of it; `*.parent` covers parent's subdomains."""
    name = domain.strip().lower().rstrip(".")
    if name.startswith("*."):
        return host.endswith(name[1:])
    return host == name or host.endswith("." + name)


def destinations_are_trusted(run: Any, variant: Any) -> list[str]:
    """A5: no destination a visitor of the link may reach (its own, a routing rule's) is on a domain
    that is listed and not VERIFIED."""
    link, read = run.live_link(variant)
    domains = run.reads.destination_domains(step=run.step)
    rules = run.reads.personalization_rules(step=run.step)
    refused = []
    with citing(read.exchanges + domains.exchanges + rules.exchanges):
        reachable = routing.reachable(link, rules.body)
        for url, why in reachable:
            entry = untrusted(domains.body, url)
            if entry is not None:
                refused.append(f"{url} ({why}) is on {entry.get('domain')}, {entry.get('status')}")
    hosts = sorted({str(urlsplit(url).hostname) for url, _ in reachable})
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
