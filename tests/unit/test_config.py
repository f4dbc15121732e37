"""The YAML config layer: shipped files load, and every user mistake is one exact line."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from preflight.config import (
    CampaignConfig,
    ConfigError,
    RunConfig,
    TargetConfig,
    VariantConfig,
    load_run_config,
    load_target,
)
from preflight.config.errors import did_you_mean, format_path
from preflight.core.routes import ROUTES

REPO = Path(__file__).resolve().parents[2]
RUN_FILE = "config/preflight.yaml"
SHIPPED = yaml.safe_load((REPO / RUN_FILE).read_text(encoding="utf-8"))
# Fake tokens, written in parts so no committed line looks like a real one.
JWT = "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiJwZiJ9.c2lnbmF0dXJlLXNlY3JldA"
PAT = "patv1_tok123." + "s3cretPATvalue99"
SECRET_WORD = "hunter2hunter2"  # a secret with no token shape: only masking by position hides it
TOKENS = {"PREFLIGHT_JWT": JWT, "PREFLIGHT_PAT": PAT}
SLUG_RULE = "4-17 letters, digits, '-' or '_' (17 at most because the run appends '-xxxxxx' and the platform allows 24)"
STEM_RULE = (
    "3-30 lowercase letters, digits or '-', starting with a letter or digit "
    "(30 at most because the run prefixes 'pf-<runId>-' and the platform allows 64)"
)
GOALS = "PRODUCT_SALE, LEAD_CAPTURE, NEWSLETTER, AFFILIATE_CLICKOUT, APP_INSTALL"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped config/ as the working directory, so lines read config/..."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    for name in TOKENS:
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def write(path: str, data: Any) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    target.write_text(text, encoding="utf-8")
    return target


def run_problems(mutate: Callable[[dict], Any], target: str | None = None, environ: dict | None = None) -> list[str]:
    data = copy.deepcopy(SHIPPED)
    mutate(data)
    write(RUN_FILE, data)
    with pytest.raises(ConfigError) as info:
        load_run_config(RUN_FILE, target=target, environ=environ or {})
    return info.value.problems


def target_problems(data: dict, environ: dict | None = None) -> list[str]:
    write("config/targets/custom.yaml", data)
    with pytest.raises(ConfigError) as info:
        load_target("config/targets/custom.yaml", environ=environ or {})
    return info.value.problems


def production(**changes: Any) -> dict:
    data = yaml.safe_load((REPO / "config/targets/production.yaml").read_text(encoding="utf-8"))
    data.update(changes)
    return data


# --- the shipped files ------------------------------------------------------------------


def test_shipped_config_loads_with_the_sandbox_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    run = load_run_config(RUN_FILE, environ={})
    assert isinstance(run, RunConfig)
    assert run.source_path == REPO / RUN_FILE
    assert (run.target.name, run.target.kind, run.target.handle) == ("sandbox", "sandbox", "gharart")
    assert (run.target.plan, run.target.role, run.target.base_url) == ("ENTERPRISE", "CREATOR", None)
    assert run.target.sandbox.ctx_ttl_seconds == 1800
    assert run.target.credentials is None
    assert run.target.contract.request_id_headers == ["x-request-id", "x-amzn-requestid", "request-id"]
    assert run.target.contract.idempotency_key_in == "header"
    assert run.target.contract.routes == {}
    assert (run.run.timeout_seconds, run.run.retry.attempts, run.run.publish_via) == (10, 8, "pat")
    assert (run.expectations.health_verdict, run.expectations.min_score) == ("PASS", 100)


def test_shipped_campaigns() -> None:
    run = load_run_config(REPO / RUN_FILE, environ={})
    spring, diwali = run.campaigns
    assert isinstance(spring, CampaignConfig) and isinstance(spring.variants[0], VariantConfig)
    assert (spring.stem, spring.goal_type, len(spring.variants)) == ("spring-ab", "LEAD_CAPTURE", 2)
    assert (diwali.stem, diwali.goal_type, len(diwali.variants)) == ("diwali-sale", "PRODUCT_SALE", 3)
    assert (diwali.conversion.value, diwali.conversion.currency, diwali.event_type) == (4999, "INR", "purchase")
    assert spring.event_type == "lead"
    assert diwali.variant("diwali-c").title == "Free shipping"


def test_camel_case_contract_names_read_like_the_fields() -> None:
    spring = load_run_config(REPO / RUN_FILE, environ={}).campaigns[0]
    assert spring.campaignId == spring.stem and spring.goalType == spring.goal_type
    assert spring.detailPage.detailsPageSlug == "spring-offer"
    assert spring.variants[0].destinationUrl == "https://gharart.example/spring?v=a"
    with pytest.raises(AttributeError):
        spring.goalTyp  # noqa: B018


def test_variant_tracking_merges_over_the_campaign() -> None:
    diwali = load_run_config(REPO / RUN_FILE, environ={}).campaigns[1]
    tagged = {"utmSource": "google", "utmMedium": "cpc", "utmCampaign": "diwali"}
    assert diwali.variant_tracking(diwali.variants[0]) == tagged
    assert diwali.variant_tracking(diwali.variants[2]) == {**tagged, "utmSource": "instagram"}


def test_a_variant_null_tag_drops_the_campaign_tag() -> None:
    variant = {"slug": "drop", "destinationUrl": "https://x.example", "tracking": {"utmMedium": None}}
    campaign = CampaignConfig.model_validate({**SHIPPED["campaigns"][0], "variants": [variant]})
    assert campaign.variant_tracking(campaign.variants[0]) == {"utmSource": "meta", "utmCampaign": "spring"}


def test_missing_tracking_tags_are_allowed(workdir: Path) -> None:
    data = copy.deepcopy(SHIPPED)
    del data["campaigns"][0]["tracking"]["utmMedium"]
    write(RUN_FILE, data)
    spring = load_run_config(RUN_FILE, environ={}).campaigns[0]
    assert spring.variant_tracking(spring.variants[0]) == {"utmSource": "meta", "utmCampaign": "spring"}


def test_default_schemas() -> None:
    spring, diwali = load_run_config(REPO / RUN_FILE, environ={}).campaigns
    lead = spring.detail_page.schema_or_default(spring.goal_type)
    assert {"name": "email", "type": "email", "required": True} in lead["sections"][0]["fields"]
    offer = diwali.detail_page.schema_or_default(diwali.goal_type)
    assert [s["type"] for s in offer["sections"]] == ["hero", "offer"]
    lead["sections"].clear()  # a copy: the next caller still gets the form
    assert spring.detail_page.schema_or_default("LEAD_CAPTURE")["sections"]


def test_production_target_loads_with_its_environment(workdir: Path) -> None:
    run = load_run_config(RUN_FILE, target="production", environ=TOKENS)
    target = run.target
    assert isinstance(target, TargetConfig)
    assert (target.kind, target.base_url, target.plan, target.sandbox) == ("remote", "https://ai.10x.in", "PRO", None)
    assert target.credentials.jwt.get_secret_value() == JWT
    assert target.credentials.pat.get_secret_value() == PAT
    assert target.click_url_for("spring-a-1a2b3c") == "https://gharart.10x.in/spring-a-1a2b3c"
    for text in (repr(run), str(run), repr(target), target.model_dump_json()):
        assert JWT not in text and PAT not in text


def test_sandbox_click_url_uses_the_started_sandbox() -> None:
    target = load_target(REPO / "config/targets/sandbox.yaml", environ={})
    with pytest.raises(ValueError):
        target.click_url_for("spring-a")
    started = target.with_base_url("http://127.0.0.1:5000/")
    assert started.click_url_for("spring-a") == "http://127.0.0.1:5000/_edge/redirect/gharart/spring-a"


# --- one exact line per mistake in the run file ---------------------------------------


def _node(data: dict, path: list) -> Any:
    for part in path:
        data = data[part]
    return data


def set_in(*path_and_value: Any) -> Callable[[dict], None]:
    *path, key, value = path_and_value

    def mutate(data: dict) -> None:
        _node(data, path)[key] = value

    return mutate


def rename(*path_and_names: Any) -> Callable[[dict], None]:
    *path, old, new = path_and_names

    def mutate(data: dict) -> None:
        node = _node(data, path)
        node[new] = node.pop(old)

    return mutate


def drop(*path_and_key: Any) -> Callable[[dict], None]:
    *path, key = path_and_key

    def mutate(data: dict) -> None:
        del _node(data, path)[key]

    return mutate


BAD_RUN_FILES = {
    "slug too long": (
        set_in("campaigns", 1, "variants", 0, "slug", "diwali-festive-sale-a"),
        f"config/preflight.yaml: campaigns[1].variants[0].slug: got 'diwali-festive-sale-a'; allowed: {SLUG_RULE}",
    ),
    "stem with capitals": (
        set_in("campaigns", 0, "campaignId", "Spring_AB"),
        f"config/preflight.yaml: campaigns[0].campaignId: got 'Spring_AB'; allowed: {STEM_RULE}",
    ),
    "misspelled enum value": (
        set_in("campaigns", 0, "goalType", "LEAD_CAPTUR"),
        f"config/preflight.yaml: campaigns[0].goalType: got 'LEAD_CAPTUR'; allowed: {GOALS}; "
        "did you mean 'LEAD_CAPTURE'?",
    ),
    "lowercase enum value": (
        set_in("run", "publish_via", "PAT"),
        "config/preflight.yaml: run.publish_via: got 'PAT'; allowed: pat, jwt; did you mean 'pat'?",
    ),
    "clipped enum value": (
        set_in("campaigns", 0, "detailPage", "accessMode", "FREE"),
        (
            "config/preflight.yaml: campaigns[0].detailPage.accessMode: got 'FREE'; "
            "allowed: PUBLIC, FREE_WITH_LOGIN, PAID; did you mean 'FREE_WITH_LOGIN'?"
        ),
    ),
    "not an http url": (
        set_in("campaigns", 0, "variants", 1, "destinationUrl", "ftp://gharart.example/b"),
        (
            "config/preflight.yaml: campaigns[0].variants[1].destinationUrl: got 'ftp://gharart.example/b'; "
            "allowed: an http:// or https:// URL with a host, e.g. https://gharart.example/spring?v=a"
        ),
    ),
    "unknown tracking key": (
        set_in("campaigns", 0, "tracking", "utmTerm", "x"),
        (
            "config/preflight.yaml: campaigns[0].tracking.utmTerm: unknown key 'utmTerm'; "
            "allowed: utmSource, utmMedium, utmCampaign"
        ),
    ),
    "no variants key": (
        drop("campaigns", 0, "variants"),
        "config/preflight.yaml: campaigns[0].variants: missing (required); allowed: a list of at least one variant",
    ),
    "empty variants": (
        set_in("campaigns", 0, "variants", []),
        (
            "config/preflight.yaml: campaigns[0].variants: got an empty list: too few items; "
            "allowed: a list of at least one variant"
        ),
    ),
    "text for a number": (
        set_in("run", "timeout_seconds", "ten"),
        (
            "config/preflight.yaml: run.timeout_seconds: got 'ten': expected a number; "
            "allowed: seconds per request, more than 0 and at most 300"
        ),
    ),
    "lowercase currency": (
        set_in("campaigns", 1, "conversion", "currency", "inr"),
        (
            "config/preflight.yaml: campaigns[1].conversion.currency: got 'inr'; "
            "allowed: a three-letter currency code in capitals, e.g. INR"
        ),
    ),
    "duplicate slug": (
        set_in("campaigns", 1, "variants", 2, "slug", "Spring-A"),
        (
            "config/preflight.yaml: campaigns[1].variants[2].slug: got 'Spring-A': already used at "
            "campaigns[0].variants[0].slug; allowed: a slug used once in the whole file"
        ),
    ),
    "duplicate stem": (
        set_in("campaigns", 1, "campaignId", "spring-ab"),
        (
            "config/preflight.yaml: campaigns[1].campaignId: got 'spring-ab': already used at "
            "campaigns[0].campaignId; allowed: a campaignId used once in the whole file"
        ),
    ),
    "lead form without email": (
        set_in("campaigns", 0, "detailPage", "schema", {"sections": [{"type": "form", "fields": [{"name": "phone"}]}]}),
        (
            "config/preflight.yaml: campaigns[0].detailPage: got a mapping; "
            "allowed: for LEAD_CAPTURE, a schema holding "
            "a field {name: email, required: true} (or leave schema out to publish the default lead form)"
        ),
    ),
    "live campaign id with a space": (
        set_in("campaigns", 0, "live", {"campaignId": "Spring AB"}),
        "config/preflight.yaml: campaigns[0].live.campaignId: got 'Spring AB'; allowed: the live campaignId: 3-64 "
        "lowercase letters, digits, '_' or '-' (the platform's rule)",
    ),
    "live slug too short": (
        set_in("campaigns", 0, "live", {"slugs": {"spring-a": "sa"}}),
        "config/preflight.yaml: campaigns[0].live.slugs.spring-a: got 'sa'; allowed: a live slug: 4-24 letters, "
        "digits, '_' or '-' (the platform's rule)",
    ),
    "live slug of no variant": (
        set_in("campaigns", 0, "live", {"slugs": {"sprong-a": "spring-a-live"}}),
        "config/preflight.yaml: campaigns[0].live: got a mapping; allowed: live.slugs keyed by this campaign's "
        "variant slugs: spring-a, spring-b ('sprong-a' is not one; did you mean 'spring-a'?)",
    ),
    "flight that ends before it starts": (
        set_in("campaigns", 0, "flight", {"start": "2026-11-28T00:00:00Z", "end": "2026-11-27T00:00:00Z"}),
        "config/preflight.yaml: campaigns[0].flight: got a mapping: end must be after start; allowed: start and end "
        "of the ad flight (RFC 3339 times with a zone)",
    ),
    "flight time without a zone": (
        set_in("campaigns", 0, "flight", {"start": "2026-11-27T18:00:00", "end": "2026-11-28T00:00:00Z"}),
        "config/preflight.yaml: campaigns[0].flight.start: got '2026-11-27T18:00:00'; allowed: an RFC 3339 time "
        "with a zone, e.g. 2026-11-27T18:00:00+05:30 (Z for UTC)",
    ),
    "audience country spelt out": (
        set_in("campaigns", 0, "audiences", [{"country": "India", "device": "MOBILE"}]),
        "config/preflight.yaml: campaigns[0].audiences[0].country: got 'India'; allowed: an ISO 3166 country code "
        "in capitals, e.g. IN",
    ),
    "audience device misspelt": (
        set_in("campaigns", 0, "audiences", [{"country": "IN", "device": "MOBIL"}]),
        "config/preflight.yaml: campaigns[0].audiences[0].device: got 'MOBIL'; allowed: MOBILE, TABLET, DESKTOP; "
        "did you mean 'MOBILE'?",
    ),
    "expected clicks of none": (
        set_in("campaigns", 0, "expected_clicks", 0),
        "config/preflight.yaml: campaigns[0].expected_clicks: got 0: input should be greater than or equal to 1; "
        "allowed: a whole number of clicks the flight should bring, 1 or more",
    ),
    "utm policy tag misspelt": (
        set_in("policy", "utm", "allowed", {"utmSorce": ["meta"]}),
        "config/preflight.yaml: policy.utm.allowed.utmSorce: unknown key 'utmSorce'; allowed: utmSource, utmMedium, "
        "utmCampaign; did you mean 'utmSource'?",
    ),
    "utm campaign pattern that does not compile": (
        set_in("policy", "utm", "utm_campaign_pattern", "(["),
        "config/preflight.yaml: policy.utm.utm_campaign_pattern: got '(['; allowed: a regular expression that "
        "compiles (unterminated character set at position 1)",
    ),
    "conversion window of none": (
        set_in("expectations", "conversion_window_minutes", 0),
        "config/preflight.yaml: expectations.conversion_window_minutes: got 0: input should be greater than or equal "
        "to 1; allowed: minutes from a click to its conversion, 1-43200 (default 30)",
    ),
    "no campaigns": (
        set_in("campaigns", []),
        "config/preflight.yaml: campaigns: got an empty list: too few items; allowed: a list of at least one campaign",
    ),
}


@pytest.mark.parametrize("mutate, line", BAD_RUN_FILES.values(), ids=BAD_RUN_FILES.keys())
def test_each_mistake_is_one_exact_line(workdir: Path, mutate: Callable[[dict], None], line: str) -> None:
    assert run_problems(mutate) == [line]


def test_a_misspelled_key_says_did_you_mean(workdir: Path) -> None:
    assert run_problems(rename("campaigns", 0, "goalType", "goalTyp")) == [
        "config/preflight.yaml: campaigns[0].goalType: missing (required); allowed: " + GOALS,
        (
            "config/preflight.yaml: campaigns[0].goalTyp: unknown key 'goalTyp'; allowed: campaignId, goalType, "
            "name, leadVerification, tracking, variants, detailPage, conversion, live, flight, expected_clicks, "
            "audiences, expect; did you mean 'goalType'?"
        ),
    ]


def test_every_problem_is_reported_at_once(workdir: Path) -> None:
    def many(data: dict) -> None:
        data["run"]["retyr"] = {}
        data["campaigns"][0]["variants"][0]["slug"] = "x"
        data["campaigns"][1]["goalType"] = "SALE"
        data["target"] = "sandbx"

    problems = run_problems(many)
    assert [line.split(": ")[1] for line in problems] == [
        "target",
        "run.retyr",
        "campaigns[0].variants[0].slug",
        "campaigns[1].goalType",
    ]
    assert all(line.startswith("config/preflight.yaml: ") and "\n" not in line for line in problems)


def test_config_error_prints_one_problem_per_line() -> None:
    error = ConfigError(["a: b: c", "d: e: f"])
    assert str(error) == "a: b: c\nd: e: f"
    assert error.problems == ["a: b: c", "d: e: f"]


def test_direct_construction_still_refuses_duplicates() -> None:
    data = copy.deepcopy(SHIPPED)
    data["campaigns"][1]["campaignId"] = "spring-ab"
    data["target"] = load_target(REPO / "config/targets/sandbox.yaml", environ={})
    with pytest.raises(ValueError, match="campaignId 'spring-ab' is used more than once"):
        RunConfig.model_validate(data)


# --- file-level mistakes ---------------------------------------------------------------


def test_yaml_syntax_error_names_file_line_and_column(workdir: Path) -> None:
    write(RUN_FILE, "target: sandbox\nrun:\n  timeout_seconds: 10\n    retry: {}\n")
    with pytest.raises(ConfigError) as info:
        load_run_config(RUN_FILE, environ={})
    assert info.value.problems == [
        (
            "config/preflight.yaml:4:10: YAML syntax error: mapping values are not allowed here; "
            "check the indentation and quoting on this line and the one above"
        )
    ]


def test_a_key_given_twice_is_an_error(workdir: Path) -> None:
    write(RUN_FILE, "target: sandbox\ntarget: production\ncampaigns: []\n")
    with pytest.raises(ConfigError) as info:
        load_run_config(RUN_FILE, environ={})
    assert info.value.problems == ["config/preflight.yaml:2:1: duplicate key 'target' (first at line 1); keep only one"]


def test_missing_file(workdir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_run_config("config/nope.yaml", environ={})
    assert info.value.problems == [
        "config/nope.yaml: file not found; create it or pass the path of an existing YAML file"
    ]


@pytest.mark.parametrize("text, got", [("", "an empty file"), ("- a\n- b\n", "got a list")])
def test_the_file_must_be_a_mapping(workdir: Path, text: str, got: str) -> None:
    write(RUN_FILE, text)
    with pytest.raises(ConfigError) as info:
        load_run_config(RUN_FILE, environ={})
    assert info.value.problems == [
        f"config/preflight.yaml: {got}; allowed: a mapping of keys such as target, run, campaigns"
    ]


# --- targets ----------------------------------------------------------------------------


def test_unknown_target_name_says_did_you_mean(workdir: Path) -> None:
    assert run_problems(set_in("target", "sandbx")) == [
        (
            "config/preflight.yaml: target: got 'sandbx': no such file config/targets/sandbx.yaml; "
            "allowed: a target name from config/targets/ (production, rehearsal, sandbox, sandbox-large) "
            "or a path to a target YAML; "
            "did you mean 'sandbox'?"
        )
    ]


def test_a_config_outside_config_finds_target_names_in_the_projects_config_targets(workdir: Path) -> None:
    """A config copied elsewhere (no targets/ beside it) falls back to the project's config/targets/;
    a name neither folder has says both folders it looked in."""
    write("elsewhere/preflight.yaml", {**copy.deepcopy(SHIPPED), "target": "production"})
    assert load_run_config("elsewhere/preflight.yaml", environ=TOKENS).target.name == "production"
    write("elsewhere/targets/production.yaml", production(name="beside"))
    assert load_run_config("elsewhere/preflight.yaml", environ=TOKENS).target.name == "beside"  # beside wins
    write("elsewhere/preflight.yaml", {**copy.deepcopy(SHIPPED), "target": "staging"})
    with pytest.raises(ConfigError) as info:
        load_run_config("elsewhere/preflight.yaml", environ=TOKENS)
    assert info.value.problems == [
        "elsewhere/preflight.yaml: target: got 'staging': no such file elsewhere/targets/staging.yaml; allowed: "
        "a target name from elsewhere/targets/ or config/targets/ (production, rehearsal, sandbox, sandbox-large) "
        "or a path to a target YAML"
    ]


def test_the_target_option_overrides_the_file(workdir: Path) -> None:
    write("elsewhere/mine.yaml", production(name="mine"))
    run = load_run_config(RUN_FILE, target="elsewhere/mine.yaml", environ=TOKENS)
    assert run.target.name == "mine"
    with pytest.raises(ConfigError) as info:
        load_run_config(RUN_FILE, target="prod", environ=TOKENS)
    assert info.value.problems[0].startswith("--target: got 'prod': no such file")


def test_a_target_path_in_the_file_is_relative_to_the_file(workdir: Path) -> None:
    write("config/more/staging.yaml", production(name="staging", base_url="https://staging.example"))
    data = {**copy.deepcopy(SHIPPED), "target": "more/staging.yaml"}
    write(RUN_FILE, data)
    assert load_run_config(RUN_FILE, environ=TOKENS).target.base_url == "https://staging.example"


def test_a_missing_environment_variable_is_one_line(workdir: Path) -> None:
    problems = run_problems(lambda data: None, target="production", environ={"PREFLIGHT_PAT": PAT})
    assert problems == [
        (
            "config/targets/production.yaml: credentials.jwt: environment variable PREFLIGHT_JWT is not set; "
            "export it or use --target sandbox"
        )
    ]


def test_environment_references_expand_in_any_value(workdir: Path) -> None:
    data = production(base_url="https://${PF_HOST}/")
    write("config/targets/custom.yaml", data)
    target = load_target("config/targets/custom.yaml", environ={**TOKENS, "PF_HOST": "api.example"})
    assert target.base_url == "https://api.example"
    assert target_problems(data, {**TOKENS, "PF_HOST": "bad host"}) == [
        (
            "config/targets/custom.yaml: base_url: got 'https://bad host/' (expanded from 'https://${PF_HOST}/'); "
            "allowed: an http:// or https:// URL, e.g. https://ai.10x.in"
        )
    ]


def test_a_remote_target_needs_base_url_and_credentials(workdir: Path) -> None:
    data = production()
    del data["base_url"], data["credentials"]
    assert target_problems(data) == [
        "config/targets/custom.yaml: base_url: missing; allowed: a remote target needs base_url, e.g. https://ai.10x.in",
        (
            "config/targets/custom.yaml: credentials: missing; allowed: a remote target needs credentials: "
            "{jwt: ${PREFLIGHT_JWT}, pat: ${PREFLIGHT_PAT}}"
        ),
    ]


def test_a_sandbox_target_takes_no_credentials(workdir: Path) -> None:
    data = yaml.safe_load((REPO / "config/targets/sandbox.yaml").read_text())
    data["credentials"] = {"jwt": JWT, "pat": PAT}
    assert target_problems(data) == [
        (
            "config/targets/custom.yaml: credentials: got a mapping; "
            "allowed: nothing for a sandbox target: the run mints its own tokens"
        )
    ]


@pytest.mark.parametrize("template", ["https://{handle}.10x.in/go", "https://{handle}.10x.in/{slg}", "{handle}/{slug}"])
def test_click_url_must_keep_slug_and_known_placeholders(workdir: Path, template: str) -> None:
    assert target_problems(production(click_url=template), TOKENS) == [
        (
            f"config/targets/custom.yaml: click_url: got '{template}'; allowed: an http(s) URL template that "
            "contains {slug} and no placeholders but {base_url}, {handle}, {slug}"
        )
    ]


# --- contract (gap) points: route overrides --------------------------------------------


def test_a_route_override_replaces_the_template(workdir: Path) -> None:
    data = production()
    data["contract"]["routes"] = {"put_link": "/v2/h/{handle}/links/{slug}"}
    write("config/targets/custom.yaml", data)
    contract = load_target("config/targets/custom.yaml", environ=TOKENS).contract
    assert contract.routes == {"put_link": "/v2/h/{handle}/links/{slug}"}
    assert "list_leads" not in contract.routes  # the others keep the contract's template


def test_an_unknown_route_name_says_did_you_mean(workdir: Path) -> None:
    data = production()
    data["contract"]["routes"] = {"put_lnk": "/v2/handles/{handle}/links/{slug}"}
    (line,) = target_problems(data, TOKENS)
    assert line.startswith("config/targets/custom.yaml: contract.routes.put_lnk: unknown key 'put_lnk'; allowed: ")
    assert line.endswith("; did you mean 'put_link'?")
    assert all(name in line for name in ROUTES)


def test_a_route_override_must_keep_its_placeholders(workdir: Path) -> None:
    data = production()
    data["contract"]["routes"] = {"campaign_health": "/v2/handles/{handle}/health"}
    assert target_problems(data, TOKENS) == [
        (
            "config/targets/custom.yaml: contract.routes.campaign_health: got '/v2/handles/{handle}/health'; "
            "allowed: a path starting with '/' that keeps exactly {campaignId}, {handle} "
            "(default /v2/handles/{handle}/campaigns/{campaignId}/health)"
        )
    ]


def test_idempotency_key_place_is_header_or_body(workdir: Path) -> None:
    data = production()
    data["contract"]["idempotency_key_in"] = "headers"
    assert target_problems(data, TOKENS) == [
        (
            "config/targets/custom.yaml: contract.idempotency_key_in: got 'headers'; allowed: header, body; "
            "did you mean 'header'?"
        )
    ]


# --- secrets never show ----------------------------------------------------------------


def assert_no_secret(lines: list[str], *secrets: str) -> None:
    text = "\n".join(lines)
    for secret in secrets:
        assert secret not in text


def test_swapped_tokens_are_reported_without_their_values(workdir: Path) -> None:
    problems = target_problems(production(), {"PREFLIGHT_JWT": PAT, "PREFLIGHT_PAT": JWT})
    assert problems == [
        (
            "config/targets/custom.yaml: credentials.jwt: got the value of ${PREFLIGHT_JWT} (hidden); "
            "allowed: a JWT: three dot-separated parts starting with eyJ (this looks like the PAT: swap the two)"
        ),
        (
            "config/targets/custom.yaml: credentials.pat: got the value of ${PREFLIGHT_PAT} (hidden); "
            "allowed: a PAT like patv1_<tokenId>.<secret> (this looks like the JWT: swap the two)"
        ),
    ]


def test_literal_secrets_in_a_target_never_show(workdir: Path) -> None:
    data = production(credentials={"jwt": SECRET_WORD, "pat": PAT, "token": SECRET_WORD})
    problems = target_problems(data)
    assert problems == [
        (
            "config/targets/custom.yaml: credentials.jwt: got a secret value (hidden); "
            "allowed: a JWT: three dot-separated parts starting with eyJ"
        ),
        "config/targets/custom.yaml: credentials.token: unknown key 'token'; allowed: jwt, pat",
    ]
    assert_no_secret(problems, SECRET_WORD, PAT)


def test_a_secret_in_the_wrong_place_is_masked(workdir: Path) -> None:
    problems = target_problems(production(credentials=SECRET_WORD, base_url=JWT))
    assert_no_secret(problems, SECRET_WORD, JWT)
    assert "config/targets/custom.yaml: credentials: got a secret value (hidden): expected a mapping" in problems[-1]


def test_a_token_pasted_into_the_run_file_is_masked(workdir: Path) -> None:
    problems = run_problems(set_in("campaigns", 0, "variants", 0, "slug", PAT))
    assert problems == [f"config/preflight.yaml: campaigns[0].variants[0].slug: got '[REDACTED]'; allowed: {SLUG_RULE}"]


# --- helpers ---------------------------------------------------------------------------


def test_format_path() -> None:
    assert format_path(("campaigns", 1, "variants", 0, "slug")) == "campaigns[1].variants[0].slug"
    assert format_path(()) == "(top level)"


@pytest.mark.parametrize(
    "word, expected",
    [("goalTyp", "goalType"), ("lead_capture", "LEAD_CAPTURE"), ("FREE", "FREE_WITH_LOGIN"), ("zzz", None)],
)
def test_did_you_mean(word: str, expected: str | None) -> None:
    choices = ["goalType", "LEAD_CAPTURE", "FREE_WITH_LOGIN", "PUBLIC"]
    assert did_you_mean(word, choices) == expected
