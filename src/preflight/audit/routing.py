"""Routing as the contract documents it, evaluated from what the audit read.

The link's `routingRules` first, lowest `priority` number first; then the handle's enabled
personalization rules (`slugs` null, or naming the link), lowest priority first; then the link's
`destinationUrl`. A rule's conditions (country, device, source, campaign) are AND-ed and a missing
one matches anything; values compare case-insensitively, and a condition may be one value or a
list (gap: the rule shapes, read tolerantly). A rule with `enabled: false` (a link rule or a
personalization rule) is skipped, as the platform skips it.

What cannot be read is never guessed: a condition the contract does not name (the platform may
match on it, so whether the rule applies is unknown), a priority or `enabled` that is no number or
boolean, a `when` that is no object: the evaluation that meets one cannot judge (Unjudged).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from preflight.audit.live import citing
from preflight.config.live import Audience
from preflight.core.categories import Category
from preflight.core.readings import Unreadable, read_bool, read_number
from preflight.http.client import idempotency_key
from preflight.lifecycle.checks import expect_status, fail
from preflight.lifecycle.failures import NotChecked, Unjudged

CONDITIONS = ("country", "device", "source", "campaign")
RULES_FIX = (
    "open the rule in the dashboard (the link's routing rules, or Personalization rules) and check it routes the "
    "configured audiences as intended; report a rule shape the contract does not describe to 10xDotIn with the "
    "request id, then re-run the audit"
)


@dataclass(frozen=True)
class Visitor:
    country: str | None = None
    device: str | None = None
    source: str | None = None
    campaign: str | None = None

    @classmethod
    def of(cls, audience: Audience, tags: Mapping[str, str]) -> Visitor:
        """An audience as the platform sees its visit: its source and campaign, when the audience names
        none, are the link's own utm tags (the short link carries no others) (gap)."""
        return cls(
            country=audience.country,
            device=audience.device,
            source=audience.source or tags.get("utmSource"),
            campaign=audience.campaign or tags.get("utmCampaign"),
        )

    def describe(self) -> str:
        traits = {"country": self.country, "device": self.device, "source": self.source, "campaign": self.campaign}
        return (
            "a visitor with " + ", ".join(f"{k} {v}" for k, v in traits.items() if v)
            if any(traits.values())
            else "any visitor"
        )


@dataclass(frozen=True)
class RouteTaken:
    destination_url: str
    kind: str  # link_rule, personalization_rule or default (route-preview's own words)
    rule_id: str | None = None

    def describe(self) -> str:
        if self.kind == "default":
            return "no rule (the link's destinationUrl)"
        where = "the link's routing rule" if self.kind == "link_rule" else "the handle's personalization rule"
        return f"{where} {self.rule_id}"


def matches(when: Any, visitor: Visitor, rule_id: Any = None) -> bool:
    """Whether `visitor` meets a rule's conditions. A condition the contract does not name decides
    nothing when another one already fails (they are AND-ed); otherwise it leaves the match unknown."""
    if when is None:
        return True  # no conditions: every visitor
    if not isinstance(when, Mapping):
        raise Unjudged(f"rule {rule_id}'s conditions are {when!r}, not an object of {', '.join(CONDITIONS)}", RULES_FIX)
    for name in CONDITIONS:
        wanted = when.get(name)
        if wanted is None:
            continue
        values = [wanted] if isinstance(wanted, str) else list(wanted) if isinstance(wanted, Iterable) else [wanted]
        value = getattr(visitor, name)
        if value is None or value.lower() not in {str(v).lower() for v in values}:
            return False
    unknown = sorted(name for name, wanted in when.items() if name not in CONDITIONS and wanted is not None)
    if unknown:
        raise Unjudged(
            f"rule {rule_id} has the condition(s) {', '.join(unknown)}, which the contract does not name "
            f"({', '.join(CONDITIONS)}): whether it matches {visitor.describe()} cannot be told",
            RULES_FIX,
        )
    return True


def _priority(rule: Mapping[str, Any]) -> float:
    """Lowest first; a rule without one comes last."""
    value = read_number(rule.get("priority"))
    if isinstance(value, Unreadable):
        raise Unjudged(
            f"rule {rule.get('ruleId')}'s {value.describe('priority')}: the rules' order is unknown", RULES_FIX
        )
    return float("inf") if value is None else value


def _active(rule: Mapping[str, Any]) -> bool:
    """Not switched off (`enabled` absent is on, the platform's default) and with a destination."""
    enabled = read_bool(rule.get("enabled"))
    if isinstance(enabled, Unreadable):
        raise Unjudged(
            f"rule {rule.get('ruleId')}'s {enabled.describe('enabled')}: whether it applies is unknown", RULES_FIX
        )
    return enabled is not False and bool(rule.get("destinationUrl"))


def _for_link(rule: Mapping[str, Any], slug: Any) -> bool:
    """A personalization rule applies to every link (`slugs` null) or to those it names."""
    slugs = rule.get("slugs")
    if slugs is None:
        return True
    if isinstance(slugs, str):  # one slug, not in a list
        return slug == slugs
    if isinstance(slugs, list):
        return slug in slugs
    raise Unjudged(f"rule {rule.get('ruleId')}'s slugs are {slugs!r}, not a list of slugs or null", RULES_FIX)


def _link_rules(link: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [r for r in link.get("routingRules") or [] if isinstance(r, Mapping) and _active(r)]


def _handle_rules(link: Mapping[str, Any], personalization: Iterable[Any]) -> list[Mapping[str, Any]]:
    slug = link.get("slug")
    return [r for r in personalization if isinstance(r, Mapping) and _active(r) and _for_link(r, slug)]


def route(link: Mapping[str, Any], personalization: Iterable[Mapping[str, Any]], visitor: Visitor) -> RouteTaken:
    """Where `visitor` of `link` goes, by the documented order."""
    for rule in sorted(_link_rules(link), key=_priority):  # sorted() is stable: equal priorities keep their order
        if matches(rule.get("when"), visitor, rule.get("ruleId")):
            return RouteTaken(str(rule["destinationUrl"]), "link_rule", rule.get("ruleId"))
    for rule in sorted(_handle_rules(link, personalization), key=_priority):
        if matches(rule.get("when"), visitor, rule.get("ruleId")):
            return RouteTaken(str(rule["destinationUrl"]), "personalization_rule", rule.get("ruleId"))
    return RouteTaken(str(link.get("destinationUrl") or ""), "default")


def reachable(link: Mapping[str, Any], personalization: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """Every destination a visitor of `link` may be sent to: (url, what sends them there)."""
    out = [(str(link.get("destinationUrl") or ""), "the link's destinationUrl")]
    for rule in _link_rules(link):
        out.append((str(rule["destinationUrl"]), f"the link's routing rule {rule.get('ruleId')}"))
    for rule in _handle_rules(link, personalization):
        out.append((str(rule["destinationUrl"]), f"the handle's personalization rule {rule.get('ruleId')}"))
    return out


def audiences_reach_the_variant(run: Any, variant: Any) -> list[dict[str, Any]]:
    """A4: each configured audience lands on the live link's destination; route-preview confirms each
    evaluation where writes are allowed (a disagreement is drift)."""
    from preflight.audit.live_config import same_page

    audiences = run.campaign.config.audiences
    if not audiences:
        raise NotChecked(
            f"no audience configured for {run.campaign.stem} (campaigns[].audiences, e.g. {{country: IN, device: "
            "MOBILE}): routing is not checked",
            would_catch="a routing rule that sends an audience the ads reach to another page",
        )
    link, read = run.live_link(variant)
    rules = run.reads.personalization_rules(step=run.step)
    tags = run.tags_of(link)
    home = str(link.get("destinationUrl") or "")
    seen = []
    for audience in audiences:
        with citing(read.exchanges + rules.exchanges):
            chosen = route(link, rules.body, Visitor.of(audience, tags))
        seen.append(
            {"audience": audience.describe(), "destinationUrl": chosen.destination_url, "by": chosen.describe()}
        )
    run.artifacts.put("routing", seen)
    if run.previews:
        _preview(run, variant, audiences, seen, read.exchanges + rules.exchanges)
    away = [s for s in seen if not same_page(s["destinationUrl"], home)]
    if away:
        raise fail(
            Category.ROUTING,
            f"routing sends {len(away)} audience(s) of {variant.slug} away from its destination: "
            + "; ".join(f"{s['audience']} → {s['destinationUrl']} by {s['by']}" for s in away),
            expected=f"every configured audience → {home}",
            actual=away,
            exchanges=read.exchanges + rules.exchanges,
            cause="a routing rule sends a configured audience away from the variant's destination",
            next_step="in the dashboard, change or disable "
            + ", ".join(sorted({s["by"] for s in away}))
            + f" so the audience reaches {variant.slug}'s page (or drop the audience from the config), then re-run",
        )
    return seen


def _preview(run: Any, variant: Any, audiences: list[Audience], seen: list[dict[str, Any]], evidence: list) -> None:
    """route-preview for each audience (a POST: only where writes are allowed)."""
    for audience, ours in zip(audiences, seen, strict=True):
        body = {
            k: v
            for k, v in {
                "country": audience.country,
                "device": audience.device,
                "source": audience.source,
                "campaign": audience.campaign,
            }.items()
            if v
        }
        key = idempotency_key(
            run.run_id, run.step, run.campaign.campaign_id, variant.slug, f"preview:{audience.describe()}"
        )
        ex = run.client.call("route_preview", step=run.step, key=key, json_body=body, slug=variant.slug)
        answer = ex.response_body if isinstance(ex.response_body, dict) else {}
        if ex.status != 200 or not isinstance(answer.get("destinationUrl"), str):
            expect_status(ex, 200, doing=f"previewing the route of {audience.describe()} on {variant.slug}")
        matched = answer.get("matched") if isinstance(answer.get("matched"), dict) else {}
        ours["preview"] = {"destinationUrl": answer.get("destinationUrl"), "matched": matched}
        theirs = answer.get("destinationUrl")
        if theirs != ours["destinationUrl"]:
            raise fail(
                Category.CONTRACT_VIOLATION,
                f"route-preview of {variant.slug} for {audience.describe()} disagrees with the documented order "
                f"(drift): the platform says {theirs} ({matched.get('kind')} {matched.get('ruleId') or ''}), the "
                f"rules read say {ours['destinationUrl']} by {ours['by']}",
                expected=ours["destinationUrl"],
                actual=answer,
                exchanges=[*evidence, ex],
                cause="route-preview disagrees with the documented routing order (gap: the rule shapes)",
                next_step="the platform routes otherwise than its documented order: trust route-preview, check the "
                "rules in the dashboard, and report the difference (contract drift) with both request ids",
            )
