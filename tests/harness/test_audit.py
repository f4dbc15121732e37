"""`preflight audit`, used as on the real platform: a sandbox started as its own process is a
*remote* target, tokens minted beforehand and passed as $PREFLIGHT_JWT/$PREFLIGHT_PAT, so the
audit can lean on nothing but the platform's routes. The live campaigns are set up healthy through
/__sandbox/ (test set-up, before the audit starts), then each finding is planted through the
sandbox's own API, as a marketer would leave it in the dashboard.

For every audit: the request log from its start to its end holds GET (or HEAD) requests only, and
none under /__sandbox/. A healthy live campaign is PASS; each planted finding is reported with its
category and variant, and only the platform's defects are escalated.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt as pyjwt
import pytest
import yaml
from harness_helpers import PreflightProject, remote_target, token_env

from preflight.audit.live import seed_body
from preflight.config import load_run_config

HANDLE = "gharart"
READS = {"GET", "HEAD"}
VARIANTS = {"spring-ab": ["spring-a", "spring-b"], "diwali-sale": ["diwali-a", "diwali-b", "diwali-c"]}
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile Safari"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@dataclass
class Audited:
    code: int
    stdout: str
    stderr: str
    gate: dict[str, Any]
    summary: str
    log: list[dict[str, Any]]  # every request the sandbox answered during the audit

    def why(self) -> str:
        return f"\n--- exit {self.code} ---\n{self.stdout[-3000:]}\n--- stderr ---\n{self.stderr[-1500:]}"

    def failures(self) -> set[tuple[str, str, str | None]]:
        """(test function, category, live slug) of each failed test."""
        return {
            (r["nodeid"].split("::")[1].split("[")[0], r["category"], r["slug"])
            for r in self.gate["results"]
            if r["outcome"] in ("failed", "error")
        }

    def outcome(self, test: str) -> list[str]:
        return [r["outcome"] for r in self.gate["results"] if f"::{test}[" in r["nodeid"]]

    def writes(self) -> list[tuple[str, str]]:
        return [(e["method"], e["path"]) for e in self.log if e["method"] not in READS]


class Live:
    """The project's `remote` target on the shared sandbox, with tokens of its own (as a user
    exports them) and a planter: a JWT client of the sandbox's API, as the marketer's dashboard."""

    def __init__(self, project: PreflightProject, sandbox) -> None:
        self.project, self.sandbox = project, sandbox
        remote_target(project, sandbox.url)
        self.jwt = sandbox.admin.post(
            "/__sandbox/tokens", json={"kind": "jwt", "handle": HANDLE, "role": "CREATOR", "ttlSeconds": 7200}
        ).json()["token"]
        self.pat = sandbox.mint_pat(HANDLE, ["analytics.read"])
        planter = sandbox.mint_jwt(HANDLE, ttl_seconds=7200)
        self.api = httpx.Client(base_url=sandbox.url, headers={"authorization": f"Bearer {planter}"}, timeout=30)

    def close(self) -> None:
        self.api.close()

    # -- the live campaigns, healthy -----------------------------------------------------------------
    def seed(self, quiet: tuple[str, ...] = ()) -> None:
        """The configured campaigns as the live ones, healthy (through /__sandbox/: test set-up);
        `quiet` ones without their hours of traffic."""
        config = load_run_config(self.project.config_file, environ={})
        bodies = [{**seed_body(c), "traffic": c.stem not in quiet} for c in config.campaigns]
        self.sandbox.seed_live(HANDLE, bodies)

    def now(self) -> datetime:
        return datetime.fromisoformat(self.sandbox.info()["now"].replace("Z", "+00:00"))

    # -- planting a finding through the API ------------------------------------------------------------
    def put_link(self, slug: str, **fields: Any) -> dict:
        link = self.api.get(f"/v2/handles/{HANDLE}/links/{slug}").json()
        body = {k: link[k] for k in ("destinationUrl", "title", "enabled", "tracking", "campaignId") if k in link}
        response = self.api.put(f"/v2/handles/{HANDLE}/links/{slug}", json={**body, **fields})
        assert response.status_code in (200, 201), response.text
        return response.json()

    def call(self, method: str, path: str, **kwargs: Any) -> dict:
        response = self.api.request(method, path.format(h=HANDLE), **kwargs)
        assert response.status_code < 300, response.text
        return response.json() if response.content else {}

    def shopper_click(self, slug: str) -> str | None:
        """A real visitor's click (a phone's browser): a qualified click; its ctx."""
        answer = self.api.get(f"/_edge/redirect/{HANDLE}/{slug}", headers={"user-agent": BROWSER, "authorization": ""})
        assert answer.status_code == 302, answer.text
        from urllib.parse import parse_qs, urlsplit

        return (parse_qs(urlsplit(answer.headers["location"]).query).get("ctx") or [None])[0]

    def funnel(self, campaign: str) -> dict[str, dict]:
        body = self.call("GET", "/v2/handles/{h}/analytics", params={"campaignId": campaign, "groupBy": "slug"})
        return {item["key"]: item for item in body["items"]}

    # -- the audit --------------------------------------------------------------------------------------
    def audit(self, *args: str, target: str = "remote") -> Audited:
        before = len(self.sandbox.requests(10000))
        done = subprocess.run(
            [sys.executable, "-m", "preflight", "audit", "--target", target, "--no-html", "-n", "0", *args],
            cwd=self.project.path,
            capture_output=True,
            text=True,
            timeout=300,
            env=token_env(self.jwt, self.pat),
        )
        log = self.sandbox.requests(10000)[before + 1 :]  # after the log read that counted `before`
        reports = self.project.path / "reports" / "audit"  # the audit's own, apart from a run's
        gate = json.loads((reports / "gate.json").read_text()) if (reports / "gate.json").is_file() else {}
        summary = (reports / "summary.md").read_text() if (reports / "summary.md").is_file() else ""
        return Audited(done.returncode, done.stdout, done.stderr, gate, summary, log)


@pytest.fixture
def live(project, sandbox):
    helper = Live(project, sandbox)
    yield helper
    helper.close()
    sandbox.set_faults({})


def zero_writes(audited: Audited) -> None:
    """Nothing but GET (or HEAD) reached the API, and nothing under /__sandbox/."""
    assert audited.log, "the audit made no request at all" + audited.why()
    assert audited.writes() == [], f"the audit sent {audited.writes()}" + audited.why()
    leaning = [e["path"] for e in audited.log if e["path"].startswith("/__sandbox")]
    assert leaning == [], f"a remote audit used the sandbox's control routes: {leaning}" + audited.why()


# -- a healthy live campaign ---------------------------------------------------------------------------


def test_a_healthy_live_campaign_passes_with_zero_writes_and_says_what_no_click_leaves_out(live, sandbox):
    live.seed()
    sandbox.set_plan(HANDLE, "FREE")  # 2 writes a day: the audit needs none (the next test's reset undoes it)
    audited = live.audit()
    assert (audited.code, audited.gate["verdict"]) == (0, "PASS"), audited.why()
    zero_writes(audited)
    assert {e["path"] for e in audited.log} >= {
        f"/v2/handles/{HANDLE}/campaigns/spring-ab",
        f"/v2/handles/{HANDLE}/links/spring-b",
        f"/v2/handles/{HANDLE}/personalization-rules",
        f"/v2/handles/{HANDLE}/destination-domains",
        f"/v2/handles/{HANDLE}/analytics",
        f"/v2/public/handles/{HANDLE}/campaigns/diwali-sale/health",
    }
    assert not [e for e in audited.log if e["path"].startswith("/_edge/")], "a click without --click"
    gate = audited.gate
    assert gate["mode"] == "audit" and gate["writePlan"]["writesTotal"] == 0 and gate["escalations"] == []
    assert gate["audit"]["click"] is False and "--click" in gate["audit"]["leftOut"]
    assert "not checked without --click" in gate["reason"], gate["reason"]
    assert set(audited.outcome("test_one_real_click")) == {"skipped"}
    assert set(audited.outcome("test_ctx_outlives_the_conversion_window")) == {"skipped"}
    passed = {r["nodeid"].split("::")[1].split("[")[0] for r in gate["results"] if r["outcome"] == "passed"}
    assert {"test_audiences_reach_the_variant", "test_tags_follow_the_policy", "test_variant_funnels"} <= passed
    # Each result names the live campaign and slug, not a throwaway copy's.
    assert {r["campaignId"] for r in gate["results"]} == {"spring-ab", "diwali-sale"}
    assert {r["slug"] for r in gate["results"] if r["slug"]} == {s for slugs in VARIANTS.values() for s in slugs}
    # The summary: an audit, what it leaves out, and each live variant's funnel side by side.
    assert "An audit of the live campaigns: reads only, zero writes" in audited.summary
    assert "| | `diwali-a` | `diwali-b` | `diwali-c` |" in audited.summary
    assert "| qualified | 40 | 50 | 60 |" in audited.summary, audited.summary


def test_click_makes_one_bot_click_per_variant_and_still_no_write(live):
    live.seed()
    before = {campaign: live.funnel(campaign) for campaign in VARIANTS}
    audited = live.audit("--click")
    assert (audited.code, audited.gate["verdict"]) == (0, "PASS"), audited.why()
    zero_writes(audited)
    clicks = sorted(e["path"].rsplit("/", 1)[1] for e in audited.log if e["path"].startswith("/_edge/redirect/"))
    assert clicks == sorted(s for slugs in VARIANTS.values() for s in slugs), clicks
    assert set(audited.outcome("test_one_real_click")) == {"passed"}
    assert set(audited.outcome("test_ctx_outlives_the_conversion_window")) == {"passed"}
    assert "audit" in audited.gate and audited.gate["audit"]["click"] is True
    for campaign, slugs in VARIANTS.items():
        after = live.funnel(campaign)
        for slug in slugs:
            was, now = before[campaign][slug], after[slug]
            assert (now["botClicks"] - was["botClicks"], now["qualifiedClicks"] - was["qualifiedClicks"]) == (1, 0), (
                f"{slug}: the audit's click must count once, as a bot click: before {was}, after {now}"
            )


@pytest.mark.parametrize(
    "faults, how",
    [
        ({"redirect_307": {}}, "307"),
        ({"bridge_clicks": {"markup": "meta"}}, "bridge"),
        ({"bridge_clicks": {"markup": "anchor"}}, "bridge"),
    ],
    ids=["307", "bridge-meta", "bridge-anchor"],
)
def test_every_documented_click_answer_is_a_working_click(live, sandbox, faults, how):
    live.seed()
    sandbox.set_faults(faults)
    audited = live.audit("--click")
    assert (audited.code, audited.gate["verdict"]) == (0, "PASS"), audited.why()
    zero_writes(audited)
    statuses = {e["status"] for e in audited.log if e["path"].startswith("/_edge/redirect/")}
    assert statuses == {307 if how == "307" else 200}, statuses
    assert set(audited.outcome("test_ctx_outlives_the_conversion_window")) == {"passed"}


def test_allow_writes_lets_route_preview_confirm_each_audience_and_nothing_else(live):
    live.seed()
    audited = live.audit("--allow-writes")
    assert (audited.code, audited.gate["verdict"]) == (0, "PASS"), audited.why()
    previews = [path for method, path in audited.writes() if method == "POST" and path.endswith("/route-preview")]
    # spring-ab: 2 audiences x 2 variants; diwali-sale: 1 audience x 3 variants.
    assert len(previews) == 7 and len(audited.writes()) == 7, audited.writes()
    assert audited.gate["writePlan"]["writesTotal"] == 7 and audited.gate["audit"]["writes"] is True


def test_route_preview_disagreeing_with_the_documented_order_is_drift_escalated(live, sandbox):
    """The platform routes an audience otherwise than its documented order: route-preview is trusted
    over the harness's evaluation, and the difference is reported as contract drift."""
    live.seed()
    sandbox.set_faults(
        {
            "answer_rewritten": {
                "path": "/v2/handles/*/links/spring-b/route-preview",
                "method": "POST",
                "field": "destinationUrl",
                "value": "https://gharart.example/elsewhere",
            }
        }
    )
    audited = live.audit("--allow-writes")
    assert (audited.code, audited.gate["verdict"]) == (1, "FAIL"), audited.why()
    assert audited.failures() == {("test_audiences_reach_the_variant", "contract_violation", "spring-b")}, audited.why()
    bad = next(r for r in audited.gate["results"] if r["outcome"] == "failed")
    assert "disagrees with the documented order (drift)" in bad["message"], bad["message"]
    assert "https://gharart.example/elsewhere" in bad["message"] and "req_" in bad["message"], bad["message"]
    assert [e["category"] for e in audited.gate["escalations"]] == ["contract_violation"], audited.why()


def test_the_sandbox_target_works_out_of_the_box(embedded_project):
    done = subprocess.run(
        [sys.executable, "-m", "preflight", "audit", "--no-html"],
        cwd=embedded_project.path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    gate = json.loads((embedded_project.path / "reports" / "audit" / "gate.json").read_text())
    assert (done.returncode, gate["verdict"], gate["mode"]) == (0, "PASS", "audit"), done.stdout[-3000:]
    assert not [r for r in gate["results"] if r["outcome"] == "skipped" and "--click" not in r["message"]], gate


def test_an_attached_sandbox_target_seeds_through_its_control_routes_only(project, sandbox):
    """The sandbox target seeds the live campaigns through /__sandbox/: the API sees reads alone."""
    before = len(sandbox.requests(10000))
    done = subprocess.run(
        [sys.executable, "-m", "preflight", "audit", "--no-html", "-n", "0", "--click"],
        cwd=project.path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = sandbox.requests(10000)[before + 1 :]
    assert done.returncode == 0, done.stdout[-3000:]
    api_writes = [(e["method"], e["path"]) for e in log if e["method"] not in READS and not e["path"].startswith("/__")]
    assert api_writes == [], api_writes
    assert ("POST", "/__sandbox/live-campaigns") in {(e["method"], e["path"]) for e in log}


# -- each finding, planted through the API ---------------------------------------------------------------


@dataclass
class Finding:
    plant: Callable[[Live], Any]
    failing: set[tuple[str, str, str | None]]  # exactly the failed tests: (function, category, live slug)
    args: tuple[str, ...] = ()
    config: Callable[[dict, datetime], None] | None = None  # an edit of the run's YAML (before the seed)
    escalated: int = 0  # the platform's root causes; a marketer's finding is never escalated
    quiet: tuple[str, ...] = ()
    faults: dict[str, dict] = field(default_factory=dict)


def campaign(stem: str) -> Callable[[dict], dict]:
    return lambda data: next(c for c in data["campaigns"] if c["campaignId"] == stem)


def at(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def flight(stem: str, start: timedelta, end: timedelta, **more: Any) -> Callable[[dict, datetime], None]:
    def edit(data: dict, now: datetime) -> None:
        campaign(stem)(data).update(flight={"start": at(now + start), "end": at(now + end)}, **more)

    return edit


def expires_mid_flight(live: Live) -> None:
    live.put_link("spring-a", expiresAt=at(live.now() + timedelta(days=1)))


def rehearse_signal(live: Live) -> None:
    for _ in range(3):
        live.shopper_click("spring-a")


FINDINGS = {
    "paused campaign": Finding(
        lambda live: live.call("PATCH", "/v2/handles/{h}/campaigns/spring-ab", json={"status": "PAUSED"}),
        {("test_campaign_is_active_as_configured", "live_config", None)},
    ),
    "draft campaign": Finding(
        lambda live: live.call("PATCH", "/v2/handles/{h}/campaigns/diwali-sale", json={"status": "DRAFT"}),
        {("test_campaign_is_active_as_configured", "live_config", None)},
    ),
    "variant disabled": Finding(
        lambda live: live.put_link("spring-b", enabled=False),
        {("test_variant_is_bound_as_configured", "live_config", "spring-b")},
    ),
    "destination changed": Finding(
        lambda live: live.put_link("spring-a", destinationUrl="https://gharart.example/spring?v=z"),
        {("test_variant_is_bound_as_configured", "live_config", "spring-a")},
    ),
    "utm_medium lost": Finding(
        lambda live: live.put_link("diwali-b", tracking={"utmSource": "google", "utmCampaign": "diwali"}),
        {
            ("test_variant_is_bound_as_configured", "live_config", "diwali-b"),
            ("test_tags_follow_the_policy", "utm_policy", "diwali-b"),
            ("test_jwt_health_has_no_fail", "missing_traffic_tags", None),
        },
    ),
    "unplanned variant": Finding(
        lambda live: live.call(
            "PUT",
            "/v2/handles/{h}/links/spring-z",
            json={
                "destinationUrl": "https://gharart.example/spring?v=z",
                "campaignId": "spring-ab",
                "tracking": {"utmSource": "meta", "utmMedium": "paid_social", "utmCampaign": "spring"},
            },
        ),
        {("test_no_unplanned_variant", "live_config", None)},
    ),
    "expires mid-flight": Finding(
        expires_mid_flight,
        {("test_link_lives_through_the_flight", "link_lifetime", "spring-a")},
        config=flight("spring-ab", -timedelta(hours=1), timedelta(days=7)),
    ),
    "starts after launch": Finding(
        lambda live: live.put_link("spring-b", scheduledStartAt=at(live.now() + timedelta(days=2))),
        {("test_link_lives_through_the_flight", "link_lifetime", "spring-b")},
        config=flight("spring-ab", timedelta(days=1), timedelta(days=8)),
    ),
    "click limit below the expected clicks": Finding(
        lambda live: live.put_link("diwali-c", maxClicks=100),
        {("test_link_lives_through_the_flight", "link_lifetime", "diwali-c")},
        config=lambda data, now: campaign("diwali-sale")(data).update(expected_clicks=5000),
    ),
    "password page": Finding(
        lambda live: live.put_link("spring-b", passwordProtected=True),
        {
            ("test_link_lives_through_the_flight", "link_lifetime", "spring-b"),
            ("test_one_real_click", "link_lifetime", "spring-b"),
            ("test_ctx_outlives_the_conversion_window", "link_lifetime", "spring-b"),
        },
        args=("--click",),
    ),
    "no ctx appended": Finding(
        lambda live: live.put_link("diwali-a", trackingPolicy={"mode": "DIRECT", "appendContextParam": False}),
        {("test_link_appends_ctx", "attribution", "diwali-a")},
    ),
    "ctx shorter than the conversion window": Finding(
        lambda live: None,
        {
            ("test_ctx_outlives_the_conversion_window", "ctx_lifetime", slug)
            for slugs in VARIANTS.values()
            for slug in slugs
        },
        args=("--click",),
        config=lambda data, now: data["expectations"].update(conversion_window_minutes=45),
    ),
    "an audience routed away": Finding(
        lambda live: live.call(
            "PUT",
            "/v2/handles/{h}/personalization-rules/in-phones",
            json={
                "priority": 1,
                "slugs": ["diwali-b"],
                "when": {"country": ["IN"], "device": ["MOBILE"]},
                "destinationUrl": "https://gharart.example/app-download",
            },
        ),
        {("test_audiences_reach_the_variant", "routing", "diwali-b")},
    ),
    "unverified destination domain": Finding(
        lambda live: (
            live.call("POST", "/v2/handles/{h}/destination-domains", json={"domain": "promo.gharart.example"}),
            live.put_link(
                "diwali-c",
                routingRules=[
                    {
                        "ruleId": "us",
                        "priority": 1,
                        "when": {"country": ["US"]},
                        "destinationUrl": "https://promo.gharart.example/us",
                    }
                ],
            ),
        ),
        {("test_destinations_are_trusted", "destination_trust", "diwali-c")},
    ),
    "tags off the policy": Finding(
        lambda live: None,
        {
            ("test_tags_follow_the_policy", "utm_policy", "diwali-c"),
            ("test_one_utm_campaign", "utm_policy", None),
        },
        config=lambda data, now: campaign("diwali-sale")(data)["variants"][2].update(
            tracking={"utmSource": "Instagram", "utmCampaign": "diwali_c"}
        ),
    ),
    "no conversion signal": Finding(
        rehearse_signal,
        {("test_variant_funnels", "no_conversion_signal", None)},
        config=flight("spring-ab", -timedelta(hours=3), timedelta(days=4)),
        quiet=("spring-ab",),
    ),
    # The platform's own defects: escalated, one payload per root cause.
    "PAT health disagrees": Finding(
        lambda live: None,
        {("test_pat_health_agrees", "health_mismatch", None)},
        faults={"health_disagree": {}},
        escalated=1,
    ),
    "a click lands on another variant": Finding(
        lambda live: None,
        {("test_ctx_outlives_the_conversion_window", "attribution", slug) for slug in VARIANTS["diwali-sale"]}
        | {("test_one_real_click", "attribution", slug) for slug in VARIANTS["diwali-sale"]},
        args=("--click",),
        faults={"redirect_swapped": {"campaignId": "diwali-sale"}},
        escalated=1,
    ),
}


@pytest.mark.parametrize("name", list(FINDINGS))
def test_each_finding_is_reported_with_its_category_and_variant(live, sandbox, name):
    case = FINDINGS[name]
    if case.config is not None:
        now = live.now()
        live.project.edit_config(lambda data: case.config(data, now))
    live.seed(quiet=case.quiet)
    case.plant(live)
    sandbox.set_faults(case.faults)
    audited = live.audit(*case.args)
    assert (audited.code, audited.gate.get("verdict")) == (1, "FAIL"), audited.why()
    assert audited.failures() == case.failing, (
        f"{name}: expected exactly {sorted(case.failing, key=str)} to fail, got {sorted(audited.failures(), key=str)}"
        + audited.why()
    )
    zero_writes(audited)
    escalations = audited.gate["escalations"]
    assert len(escalations) == case.escalated, [e["cause"] for e in escalations]
    bad = [r for r in audited.gate["results"] if r["outcome"] == "failed"]
    if case.escalated == 0:
        # The marketer's to fix: the verdict is FAIL (not ready), nothing is escalated, the fix is named.
        assert "marketer side, not escalated" in audited.gate["reason"], audited.gate["reason"]
        assert "(marketer side)" in audited.summary and "next step:" in bad[0]["message"], bad[0]["message"]
        assert not (live.project.path / "reports" / "audit" / "escalations").exists() or not list(
            (live.project.path / "reports" / "audit" / "escalations").iterdir()
        )
    else:
        assert all(r["escalation"] for r in bad), [(r["nodeid"], r["escalation"]) for r in bad]


def test_a_remote_audit_without_its_tokens_is_error_and_writes_nothing(live):
    live.seed()
    # a JWT that expired long ago, made here (signed with a key the sandbox never saw)
    live.jwt = pyjwt.encode({"sub": "x", "exp": 1}, "k" * 32, algorithm="HS256")
    audited = live.audit()
    assert (audited.code, audited.gate["verdict"]) == (2, "ERROR"), audited.why()
    assert audited.writes() == [] and "expired" in audited.gate["problem"], audited.gate["problem"]


def test_audit_shards_merge_into_one_verdict(live, tmp_path):
    """`preflight audit --shard I/N` and `preflight merge`, as the workflow's matrix would."""
    live.seed()
    for index in (1, 2):
        done = subprocess.run(
            [sys.executable, "-m", "preflight", "audit", "--target", "remote", "--no-html", "-n", "0", "--shard",
             f"{index}/2", "--reports", f"reports/shard-{index}"],
            cwd=live.project.path, capture_output=True, text=True, timeout=300, env=token_env(live.jwt, live.pat),
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:]
    merged = subprocess.run(
        [sys.executable, "-m", "preflight", "merge", "reports/shard-1", "reports/shard-2", "--out", "reports/merged",
         "--no-html"],
        cwd=live.project.path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    gate = json.loads((live.project.path / "reports" / "merged" / "gate.json").read_text())
    assert (merged.returncode, gate["verdict"], gate["mode"]) == (0, "PASS", "audit"), merged.stdout + merged.stderr
    assert {r["campaignId"] for r in gate["results"]} == {"spring-ab", "diwali-sale"}
    summary = (live.project.path / "reports" / "merged" / "summary.md").read_text()
    assert "| | `spring-a` | `spring-b` |" in summary and "not checked without --click" in gate["reason"]


def test_plain_pytest_runs_the_audit_and_keeps_it_apart_from_the_lifecycle(live):
    """`pytest suites/live` is an audit; `pytest suites` never collects it."""
    env = token_env(live.jwt, live.pat)
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "suites", "--co", "-q", "--target", "remote"],
        cwd=live.project.path, capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert "suites/live" not in collected.stdout and "test_health.py" in collected.stdout, collected.stdout[-1500:]
    live.seed()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/live", "-q", "--target", "remote", "-k", "spring-ab and live_config"],
        cwd=live.project.path, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    gate = json.loads((live.project.path / "reports" / "gate.json").read_text())
    assert (done.returncode, gate["verdict"], gate["mode"]) == (0, "PASS", "audit"), done.stdout[-2000:]
    assert gate["tests"]["selection"] == "-k 'spring-ab and live_config'" and gate["tests"]["ran"] == 4, gate["tests"]


def test_config_yaml_is_valid_after_each_edit(live):
    """The finding cases edit the YAML; each edit must still load (a config error would be ERROR)."""
    now = live.now()
    for name, case in FINDINGS.items():
        if case.config is None:
            continue
        data = yaml.safe_load(live.project.config_file.read_text())
        case.config(data, now)
        path = live.project.path / "config" / f"check-{abs(hash(name))}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        load_run_config(path, environ={})


# -- the shopper's journey on the live links (--click --browser) -----------------------------------------


def site_destinations(live: Live) -> None:
    """The config's destinations are the sandbox's copy of the customer's site: on a remote target the
    browser follows the live links to pages that load (the real site is not reachable from here)."""

    def edit(data: dict) -> None:
        for campaign in data["campaigns"]:
            for variant in campaign["variants"]:
                variant["destinationUrl"] = variant["destinationUrl"].replace("https://", f"{live.sandbox.url}/_site/")

    live.project.edit_config(edit)


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium missing: run make browser")
def test_click_browser_walks_each_live_page_with_reads_only(live, sandbox):
    """Each live link in a real browser on both viewports: a bridge page whose only way on is its
    continue link is tapped through, a page the site lost is the customer's finding (not escalated),
    every other variant passes with its screenshots; the log holds GET alone, no lead is sent."""
    site_destinations(live)
    live.seed()
    before = live.funnel("spring-ab")
    sandbox.set_faults(
        {"bridge_clicks": {"slug": "spring-*", "markup": "anchor"}, "landing_not_found": {"slug": "diwali-b"}}
    )
    audited = live.audit("--click", "--browser")
    assert (audited.code, audited.gate["verdict"]) == (1, "FAIL"), audited.why()
    zero_writes(audited)
    journeys = {
        r["slug"]: r for r in audited.gate["results"] if "::test_shopper_lands_on_the_live_page[" in r["nodeid"]
    }
    assert {slug: r["outcome"] for slug, r in journeys.items()} == {
        "spring-a": "passed",
        "spring-b": "passed",
        "diwali-a": "passed",
        "diwali-b": "failed",
        "diwali-c": "passed",
    }, audited.why()
    lost = journeys["diwali-b"]
    assert (lost["category"], lost["party"], lost["escalation"]) == ("landing_page", "customer site", None), lost
    assert "answers 404" in lost["message"], lost["message"]
    assert audited.failures() == {("test_shopper_lands_on_the_live_page", "landing_page", "diwali-b")}, [
        r["message"] for r in audited.gate["results"] if r["outcome"] == "failed"
    ]
    browser = audited.gate["browser"]
    assert (browser["status"], browser["tests"]["ran"], browser["screenshots"]) == ("ran", 5, 10), browser
    # every browser visit is a declared bot's click: 2 viewports per variant, none qualified
    after = live.funnel("spring-ab")
    for slug in ("spring-a", "spring-b"):
        bots, qualified = (after[slug][k] - before[slug][k] for k in ("botClicks", "qualifiedClicks"))
        assert (qualified, bots) == (0, 3), (slug, before[slug], after[slug])  # --click's one, the browser's two
    assert not [e for e in audited.log if e["path"].endswith("/leads")], "the audit sent a lead"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium missing: run make browser")
def test_a_split_bridge_page_fails_the_live_journey_as_it_fails_the_click(live, sandbox):
    """A live link whose bridge page sends the visitor two ways (`bridge_clicks` markup split): the
    browser follows its refresh to a page that works, yet the live journey (A10) fails as the one
    real click (A8) does, with one category and one root cause."""
    site_destinations(live)
    live.project.edit_config(
        lambda data: data.update(campaigns=[c for c in data["campaigns"] if c["campaignId"] == "diwali-sale"])
    )
    live.seed()
    sandbox.set_faults({"bridge_clicks": {"slug": "diwali-c", "markup": "split"}})
    audited = live.audit("--click", "--browser")
    assert (audited.code, audited.gate["verdict"]) == (1, "FAIL"), audited.why()
    zero_writes(audited)
    failed = [r for r in audited.gate["results"] if r["outcome"] in ("failed", "error")]
    assert {r["slug"] for r in failed} == {"diwali-c"}, audited.why()
    by_test = {r["nodeid"].split("::")[1].split("[")[0]: r for r in failed}
    browser, click = by_test["test_shopper_lands_on_the_live_page"], by_test["test_one_real_click"]
    cause = "a bridge page's refresh and continue link disagree"
    assert (
        (browser["category"], browser["cause"]) == (click["category"], click["cause"]) == ("contract_violation", cause)
    )
    assert "the bridge page of diwali-c sends the visitor two ways" in browser["message"], browser["message"]
    (escalation,) = audited.gate["escalations"]
    assert escalation["cause"] == cause and {browser["nodeid"], click["nodeid"]} <= set(escalation["tests"]), escalation


def test_browser_without_click_is_refused_in_one_line(live):
    audited = live.audit("--browser")
    assert audited.code == 2 and audited.stdout == "", audited.why()
    assert audited.stderr.strip() == (
        "preflight audit: --browser needs --click (each browser visit is a real click on a live link): run "
        "`preflight audit --click --browser`"
    )
    assert audited.log == [] or {e["method"] for e in audited.log} <= READS
