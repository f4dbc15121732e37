"""UC-07's playbook ("How Gharart Debugs It"): every lifecycle step declared once, in order; and
the audit's checks of the live campaign (`preflight audit`), declared the same way.

A step's declaration is all the rest of the harness knows of it: the write plan counts the
writes it declares, a lagging health check follows from the steps that feed it, the classifier
gives a failure of the step's categories the step's next step, and the report groups and
numbers tests by it. Adding a step is this declaration, one module in `steps/` and one suite
(docs/DESIGN.md, "Where to add a step"). An audit check is the same, with its logic in
`preflight.audit` and its tests in `suites/live/`; the report groups the audit first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from preflight.core.categories import Category

SUPPORT = "escalate via POST /v2/support/report with the request ids and repro artifact (UC-07 Escalation)"
LIFECYCLE, AUDIT = "lifecycle", "audit"
AUDIT_GROUP = "0 · Live campaign audit"


@dataclass(frozen=True)
class WriteContext:
    """What decides how many quota-counted writes a test makes."""

    publish_via: str  # "pat" (free) or "jwt" (counted)
    page_published: bool = False  # a rerun adopts the page this run already published


# A test's quota-counted writes: a number, or a rule of the run's context.
WriteRule = int | Callable[[WriteContext], int]


@dataclass(frozen=True)
class Step:
    name: str  # as the suites mark it: @pytest.mark.preflight_step("health")
    number: int  # its place in UC-07's playbook, the shopper's journey (7), the readiness re-checks (8), the funnel (9)
    title: str  # the step in words
    playbook: str  # UC-07's own words for it
    # suite test function -> the quota-counted writes it makes itself (campaign set-up and
    # retirement are counted apart); a test of your own declares them with @preflight_writes(n)
    writes: Mapping[str, WriteRule] = field(default_factory=dict)
    # the health checks (contract: primary_link, traffic_tags, click_seen, conversion_signal,
    # detail_page) whose PASS this step's work brings about
    feeds: tuple[str, ...] = ()
    # the default next step of each failure category this step is where UC-07 names it
    next_steps: Mapping[Category, str] = field(default_factory=dict)
    order: int = 0  # set from its place in STEPS
    kind: str = LIFECYCLE  # a lifecycle step, or a check of the audit of the live campaign
    # where its playbook words come from, as its next steps cite it
    source: str = ""
    # the campaigns it is for, when not all (a suite marked @preflight_goal): a campaign of another
    # goal has no test of it, and the matrix says why ("not a lead funnel")
    only_for: str = ""

    @property
    def group(self) -> str:
        """How the report names it, numbered so it sorts in playbook order: "1 · Campaign health";
        the audit's checks are one group, first: "0 · Live campaign audit"."""
        return AUDIT_GROUP if self.kind == AUDIT else f"{self.number} · {self.title}"

    @property
    def key(self) -> str:
        """Its column in the readiness matrix: the step's number, or A1… for an audit check."""
        return f"A{self.number}" if self.kind == AUDIT else str(self.number)

    @property
    def reference(self) -> str:
        """How a next step cites it: "UC-07 step 4", "CC-06/07", "the audit"."""
        return self.source or (f"UC-07 step {self.number}" if self.kind == LIFECYCLE else "the audit")

    def writes_of(self, test: str, context: WriteContext) -> int:
        rule = self.writes.get(test, 0)
        return rule(context) if callable(rule) else rule


def _publish_writes(context: WriteContext) -> int:
    # draft + publish on the JWT surface; the PAT twins are free, and a rerun adopts its page
    return 0 if context.publish_via == "pat" or context.page_published else 2


_DECLARED = (
    Step(
        "health",
        1,
        "Campaign health",
        "Run campaign health endpoint before spend ramp",
        feeds=("primary_link", "traffic_tags", "click_seen"),
        next_steps={
            Category.MISSING_TRAFFIC_TAGS: (
                "run campaign health before spend ramp (UC-07 step 1); tag the named links with the missing utm "
                "tags (utmSource, utmMedium, utmCampaign) and re-run"
            ),
            Category.HEALTH_NOT_READY: (
                "run campaign health before spend ramp (UC-07 step 1); fix each check that is not PASS (its detail "
                "says why) and re-run before ramping spend"
            ),
        },
    ),
    Step(
        "pat_health",
        2,
        "PAT health",
        "Run the PAT/public campaign health route if the workflow is being monitored by automation",
        next_steps={
            Category.HEALTH_MISMATCH: (
                "compare campaign health (UC-07 step 1) with the PAT/public health route (UC-07 step 2): both must "
                "give the same verdict; " + SUPPORT
            ),
        },
    ),
    Step(
        "lead_capture",
        3,
        "Lead capture",
        "For LEAD_CAPTURE funnels, submit one public lead and verify creator review/export routes show the record",
        feeds=("click_seen",),
        only_for="a lead funnel",
        next_steps={
            Category.LEAD_CAPTURE: (
                "submit one public lead with a valid test email and a fresh ctx (UC-07 step 3; 'lead capture rejects "
                "invalid email or stale ctx payloads'); check the email and the ctx age in the request, then " + SUPPORT
            ),
            Category.LEAD_MISSING_FROM_REVIEW: (
                "verify the creator review (GET …/leads) and export routes show the captured lead (UC-07 step 3); "
                "re-check once, then " + SUPPORT
            ),
        },
    ),
    Step(
        "test_conversion",
        4,
        "Test conversion",
        "Issue controlled test-conversion for each campaign variant",
        writes={
            "test_variant_test_conversion": 1,  # one test conversion per variant
            "test_foreign_ctx_refused": 1,  # a test conversion refused for another campaign's ctx still counts
        },
        feeds=("click_seen", "conversion_signal"),
        next_steps={
            Category.INVALID_CTX: (
                "issue the controlled test-conversion again with a ctx from a fresh tracked click on that variant "
                "(UC-07 step 4; 'test-conversion endpoint returns invalid_ctx'); if a fresh ctx is still refused, "
                + SUPPORT
            ),
        },
    ),
    Step(
        "publish",
        5,
        "Detail page publish",
        "Verify campaign detail page is published with FREE_WITH_LOGIN and schema fetch succeeds",
        writes={"test_draft_saved_and_published": _publish_writes},
        feeds=("detail_page",),
        next_steps={
            Category.PUBLISH_ACCESS_MODE: (
                "re-publish the campaign detail page with accessMode FREE_WITH_LOGIN (UC-07 step 5) and re-run; "
                "if publish keeps answering another mode, " + SUPPORT
            ),
            Category.SCHEMA_FETCH: (
                "verify the campaign detail page is published and the schema fetch succeeds (UC-07 step 5): check "
                "the PAT has pages.read, re-publish, re-run; if it still fails, " + SUPPORT
            ),
        },
    ),
    Step(
        "conversion",
        6,
        "Public conversion",
        "Verify public conversion payload includes fresh ctx token",
        feeds=("click_seen", "conversion_signal"),
        next_steps={
            Category.STALE_CTX_ACCEPTED: (
                "the platform took a stale or foreign ctx: public conversions must carry a fresh ctx (UC-07 step 6) "
                "and stale ctx payloads must be rejected ('lead capture rejects … stale ctx payloads'); " + SUPPORT
            ),
            Category.IDEMPOTENCY_DEDUPE: (
                "send each conversion with its own Idempotency-Key and a fresh ctx (UC-07 step 6; 'conversion "
                "dedupe confusion from reused idempotency key'); if a replay was counted twice or distinct keys "
                "merged, " + SUPPORT
            ),
        },
    ),
    # UC-07's flow: "Validate expected state in UI and API after each step". The UI is what a shopper
    # meets: each variant's click in a real browser, and the published detail page. It writes nothing
    # counted (with browser.submit_lead, one public lead per variant, which no quota counts).
    Step(
        "landing",
        7,
        "Shopper's journey",
        "Validate expected state in UI and API after each step (UC-07 flow step 3): each variant's click in a "
        "real browser, and the published detail page",
        source="UC-07 flow step 3",
        next_steps={
            Category.LANDING_PAGE: (
                "open the variant's page as a shopper does (step 7, the shopper's journey; UC-07 flow step 3: "
                "validate the expected state in the UI after each step; the screenshot, "
                "page HTML and trace are attached) and fix it on the customer's own site before spend ramps; the "
                "platform is not at fault, so nothing is escalated"
            ),
        },
    ),
    # Once every step has wired the campaign, JWT and PAT health are read again.
    Step(
        "readiness",
        8,
        "Readiness",
        "Run campaign health endpoint before spend ramp (once wired)",
    ),
    Step(
        "pat_readiness",
        8,
        "Readiness",
        "Run the PAT/public campaign health route (once wired)",
    ),
    # The platform's own pre-spend sequence (Campaign Control) ends with funnel and segment analytics.
    Step(
        "analytics",
        9,
        "Platform funnel numbers",
        "Campaign Control CC-06/07: read the funnel and segment analytics before spend",
        source="CC-06/07",
        next_steps={
            Category.TEST_RESIDUE: (
                "read the campaign's analytics (CC-06/07): test traffic must count only in testConversions "
                "and botClicks, never in conversions, revenue or qualifiedClicks, or the A/B numbers spend is "
                "judged by are wrong; " + SUPPORT
            ),
        },
    ),
)


def audit_check(name: str, title: str, playbook: str, **more: object) -> Step:
    """A check of the audit, numbered by its place in `_AUDIT` (A1…), never by hand."""
    return Step(name, 0, title, playbook, kind=AUDIT, **more)


# The audit of the live campaign: reads only (GET), run by `preflight audit` (suites/live/). Each
# check is numbered A1… in the matrix by its place here; the report shows them as one group, before
# the lifecycle.
_AUDIT = (
    audit_check(
        "live_config",
        "Live campaign as configured",
        "The campaign the ads point at exists, is ACTIVE, and its variants are bound as configured",
        next_steps={
            Category.LIVE_CONFIG: (
                "the audit: make the live campaign match the config in the dashboard (status ACTIVE, its goal, "
                "each variant link bound, enabled, with its destination and tags; no other enabled link), or fix "
                "the config's live: block if the ids differ; nothing is escalated"
            ),
        },
    ),
    audit_check(
        "link_lifetime",
        "Link lifetime against the flight",
        "Every live link answers from the flight's start to its end, for the clicks expected",
        next_steps={
            Category.LINK_LIFETIME: (
                "the audit: in the dashboard, move the link's schedule or expiry to cover the flight, raise or "
                "clear its click limit, or remove its password; nothing is escalated"
            ),
        },
    ),
    audit_check(
        "live_attribution",
        "Attribution can work",
        "Each live link carries a ctx, and a click's ctx lives through the conversion window",
        next_steps={
            Category.CTX_LIFETIME: (
                "the audit: a conversion after the ctx expires cannot be attributed: align "
                "expectations.conversion_window_minutes with the platform's ctx lifetime, or ask 10xDotIn support "
                "whether it can be raised for the handle; nothing is escalated"
            ),
        },
    ),
    audit_check(
        "routing",
        "Routing of the audiences",
        "Each configured audience is routed to the variant's destination",
        next_steps={
            Category.ROUTING: (
                "the audit: change or disable the named routing rule (the link's routingRules, or the handle's "
                "personalization rule) so the audience reaches the variant's page; nothing is escalated"
            ),
        },
    ),
    audit_check(
        "destination_trust",
        "Destination trust",
        "Every destination host is VERIFIED, or not listed",
        next_steps={
            Category.DESTINATION_TRUST: (
                "the audit: verify the destination domain in the dashboard (Destination domains), or point the "
                "link at a verified one: until then its clicks are refused; nothing is escalated"
            ),
        },
    ),
    audit_check(
        "utm_policy",
        "UTM policy",
        "The live links' tags follow the configured UTM policy",
        next_steps={
            Category.UTM_POLICY: (
                "the audit: edit the link's tracking tags in the dashboard to follow policy.utm (or change the "
                "policy if it is the policy that is wrong); nothing is escalated"
            ),
        },
    ),
    audit_check(
        "live_health",
        "Health, read-only",
        "Run campaign health (JWT) and the PAT/public route on the live campaign",
    ),
    audit_check(
        "live_click",
        "One real click",
        "With --click, each live short link followed once as a declared bot",
    ),
    audit_check(
        "funnel",
        "Funnel numbers",
        "Campaign Control CC-06/07 on the live campaign: each variant's funnel, side by side",
        next_steps={
            Category.NO_CONVERSION_SIGNAL: (
                "the audit: qualified clicks arrive and no conversion does: check the site sends its "
                "conversions (POST /v2/public/conversions with the click's ctx) and the conversion page works; "
                "nothing is escalated"
            ),
        },
    ),
    audit_check(
        "live_landing",
        "The shopper's journey on the live links",
        "With --click --browser, each live short link opened in a real browser on every viewport",
    ),
)

STEPS: Mapping[str, Step] = MappingProxyType(
    {
        step.name: Step(**{**step.__dict__, "order": index + 1, "number": step.number or index + 1})
        for index, step in enumerate(_AUDIT + _DECLARED)
    }
)


def absent_reason(key: str) -> str:
    """Why a campaign has no test of the step whose matrix column is `key` ("" when it should have one)."""
    found = [step for step in STEPS.values() if step.key == key and step.only_for]
    return f"not {found[0].only_for}" if found else ""


def fed_by(check_id: str) -> tuple[str, ...]:
    """The steps whose work moves a health check to PASS: a check lagging after one of them
    failed follows from that failure."""
    return tuple(step.name for step in STEPS.values() if check_id in step.feeds)


def step_next_steps() -> dict[Category, str]:
    """Each step's own next steps, by the category they are for (one step per category)."""
    out: dict[Category, str] = {}
    for step in STEPS.values():
        for category, text in step.next_steps.items():
            if category in out:
                raise ValueError(f"category {category} has a next step in two steps")
            out[category] = text
    return out


def writes_of(step: str | None, test: str, context: WriteContext) -> int:
    """The quota-counted writes a suite test of this step makes itself (0 when it declares none)."""
    declared = STEPS.get(step or "")
    return declared.writes_of(test, context) if declared else 0
