"""Is the sandbox still the platform? Read-only calls on a target, each answer checked against
the sandbox's own response models (its OpenAPI document, which FastAPI derives from them):
missing and extra fields, types, enum values, the error-body shape, and the headers
(request id, RateLimit-*). The findings go to reports/contract-drift.json, redacted samples of
the real answers to reports/contract-samples/, so a maintainer can update the sandbox (and the
contract's (gap) notes) from evidence. Nothing is written to the target.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from preflight.core.redact import redact_obj
from preflight.core.routes import READS, ROUTES
from preflight.http import listing
from preflight.http.client import PlatformClient
from preflight.http.connect import Connection
from preflight.http.exchange import Exchange
from preflight.http.readiness import FAIL, PASS, UNKNOWN, Row

RATE_LIMIT_HEADERS = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")
NOT_THERE = "pf-drift-probe"  # a campaign no run creates: its answers are the error shapes


BREAKING, VARIANT, DRIFT = "breaking", "variant", "drift"


@dataclass
class Finding:
    """One probe's answer against the sandbox's: every difference (`problems`), and each sorted by
    what it means for a run: `breaking` (something the run reads is gone or changed: the run would
    fail), `variants` (a difference the contract documents and the harness reads tolerantly) and
    `drift` (anything else: information for whoever maintains the sandbox and the contract)."""

    probe: str
    method: str
    path: str
    status: int | None
    problems: list[str] = field(default_factory=list)
    breaking: list[str] = field(default_factory=list)
    variants: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)

    def add(self, kind: str, line: str) -> None:
        self.problems.append(line)
        {BREAKING: self.breaking, VARIANT: self.variants, DRIFT: self.drift}[kind].append(line)

    @property
    def kind(self) -> str:
        return BREAKING if self.breaking else DRIFT if self.drift else VARIANT if self.variants else "same"


def sandbox_openapi() -> dict[str, Any]:
    """The sandbox's OpenAPI document, built from its models (no server is started)."""
    from preflight.sandbox.app import create_app
    from preflight.sandbox.settings import Settings

    with tempfile.TemporaryDirectory(prefix="pf-drift-") as tmp:
        app = create_app(Settings(db_path=str(Path(tmp) / "openapi.db")))
        try:
            return app.app.openapi()
        finally:
            app.rt.close()


# -- each answer against the sandbox's JSON schema (jsonschema) ------------------------------------


def problems(value: Any, schema: dict[str, Any], spec: dict[str, Any], where: str = "body") -> list[str]:
    """One line per difference between an answer and the schema the sandbox answers with: a field
    missing, one the sandbox's model does not have, a value of another type or outside its enum."""
    root = {**_closed(schema), "components": _closed(spec.get("components", {}))}
    found: list[str] = []
    for error in Draft202012Validator(root).iter_errors(value):
        found += _described(error, where)
    return list(dict.fromkeys(found))


def _closed(node: Any) -> Any:
    """The schema with every object closed to fields it does not name (FastAPI leaves them open),
    so a field the sandbox's model lacks is reported."""
    if isinstance(node, list):
        return [_closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    closed = {key: _closed(item) for key, item in node.items()}
    if "properties" in closed and "additionalProperties" not in closed:
        closed["additionalProperties"] = False
    return closed


def _described(error: ValidationError, where: str) -> list[str]:
    at = _path(where, error.absolute_path)
    kind, instance = error.validator, error.instance
    if kind == "required":
        return [f"{at}.{name}: missing" for name in error.validator_value if name not in instance]
    if kind == "additionalProperties":
        named = error.schema.get("properties", {})
        return [f"{at}.{name}: not in the sandbox's model" for name in instance if name not in named]
    if kind == "enum":
        return [f"{at}: {json.dumps(instance)} is not one of {error.validator_value}"]
    if kind == "type":
        return [f"{at}: expected {error.validator_value}, got {type(instance).__name__}"]
    if kind in ("anyOf", "oneOf") and error.context:
        # The option the answer comes closest to says what differs.
        by_option: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            by_option.setdefault(sub.schema_path[0], []).append(sub)
        closest = min(by_option.values(), key=len)
        return [line for sub in closest for line in _described(sub, where)]
    return [f"{at}: {error.message}"]


def _path(where: str, parts: Any) -> str:
    return where + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts)


def response_schema(spec: dict[str, Any], template: str, method: str, status: int | None) -> dict[str, Any] | None:
    operation = spec.get("paths", {}).get(template, {}).get(method.lower(), {})
    answer = operation.get("responses", {}).get(str(status))
    if answer is None:
        return None
    return answer.get("content", {}).get("application/json", {}).get("schema")


# -- the probes --------------------------------------------------------------------------------------


def probes(
    client: PlatformClient, campaign: str | None, slug: str | None
) -> tuple[list[tuple[str, Exchange]], list[dict[str, str]]]:
    """Every read the check makes, (probe name, exchange), GETs only; and the probes it could not
    make, with why."""
    calls: list[tuple[str, Callable[[], Exchange]]] = [
        ("system_health", lambda: client.call("system_health", step="drift")),
        ("list_campaigns", lambda: client.call("list_campaigns", step="drift", params={"limit": 5})),
        ("usage_meters", lambda: client.call("usage_meters", step="drift")),
        ("list_leads", lambda: client.call("list_leads", step="drift", params={"limit": 5})),
        (
            "campaign_health (missing campaign: the error shape)",
            lambda: client.call("campaign_health", step="drift", campaignId=NOT_THERE),
        ),
        (
            "resolve_context (a malformed ctx: the invalid_ctx shape)",
            lambda: client.call("resolve_context", step="drift", params={"ctx": "not-a-ctx"}),
        ),
        (
            "list_campaigns (no credential: the 401 shape)",
            lambda: client.call("list_campaigns", step="drift", surface="public"),
        ),
    ]
    skipped: list[dict[str, str]] = []
    per_campaign = ("campaign_health", "public_campaign_health", "get_site_structure", "public_get_site_structure")
    if campaign:
        calls += [
            (name, (lambda name=name: client.call(name, step="drift", campaignId=campaign))) for name in per_campaign
        ]
    else:
        why = "the handle lists no campaign to read (every page of the campaign list followed)"
        skipped += [{"probe": name, "why": why} for name in per_campaign]
    if slug:
        calls.append(("get_link", lambda: client.call("get_link", step="drift", slug=slug)))
    else:
        why = "no campaign on the handle names a link" if campaign else "the handle lists no campaign"
        skipped.append({"probe": "get_link", "why": why})
    return [(name, call()) for name, call in calls], skipped


def a_campaign(client: PlatformClient) -> tuple[str | None, str | None]:
    """A campaign of the handle to read, and one of its links: the first listed, every page of
    the list followed (a page may be empty and still have a next one). Read tolerantly: a renamed
    field is what this check is here to report, not a reason to stop."""
    for item in listing.items(client, "list_campaigns", step="drift"):
        if not isinstance(item, dict):
            continue
        campaign = item.get("campaignId") or item.get("campaign_id") or item.get("id")
        if not isinstance(campaign, str):
            continue
        primary = item.get("primaryLink") if isinstance(item.get("primaryLink"), dict) else {}
        links = [slug for slug in item.get("links") or [] if isinstance(slug, str)]
        return campaign, primary.get("slug") or (links[0] if links else None)
    return None, None


def check(conn: Connection, reports: Path) -> tuple[Row, str]:
    """Run the probes on the target, compare, write the drift report; (doctor row, readable table).

    Drift is information for the maintainers, not a verdict on the run: the row FAILs (and the
    doctor exits 2) only when an answer lost something the run reads; a documented variant or
    other drift leaves the doctor's exit code to its other rows."""
    spec = sandbox_openapi()
    campaign, slug = a_campaign(conn.client)
    findings = []
    samples = reports / "contract-samples"
    samples.mkdir(parents=True, exist_ok=True)
    made, skipped = probes(conn.client, campaign, slug)
    for name, ex in made:
        findings.append(compare(name, ex, spec, list(conn.target.contract.request_id_headers)))
        sample = {"status": ex.status, "headers": ex.response_headers, "body": _trim(ex.response_body)}
        (samples / f"{_file(name)}.json").write_text(json.dumps(redact_obj(sample), indent=2, default=str) + "\n")
    doc = {
        "target": conn.target.name,
        "baseUrl": conn.client.base_url,
        "checkedAt": _now(),
        "campaignRead": campaign,
        "linkRead": slug,
        "routes": [{**f.__dict__, "kind": f.kind} for f in findings],
        "notMade": skipped,
        "notChecked": [
            "Idempotent-Replayed: a replay needs a write, and this check writes nothing",
            "write answers (create, PUT, publish, conversions, leads): writes only in a run",
        ],
    }
    path = reports / "contract-drift.json"
    path.write_text(json.dumps(redact_obj(doc), indent=2) + "\n")
    return _row(findings, skipped, path), table(findings, skipped)


def _row(findings: list[Finding], skipped: list[dict[str, str]], path: Path) -> Row:
    count = {kind: sum(f.kind == kind for f in findings) for kind in (BREAKING, DRIFT, VARIANT)}
    parts = [f"{len(findings) - sum(count.values())} of {len(findings)} answers as the sandbox's"]
    parts += [f"{count[VARIANT]} with documented variants"] if count[VARIANT] else []
    parts += [f"{count[DRIFT]} drifted (information)"] if count[DRIFT] else []
    parts += [f"{count[BREAKING]} lost what the run reads"] if count[BREAKING] else []
    parts += [f"{len(skipped)} probe(s) not made (see notMade)"] if skipped else []
    detail = "; ".join(parts)
    if count[BREAKING]:
        return Row(
            "contract drift",
            FAIL,
            detail,
            f"see {path}: the run reads what changed; update the target's "
            "contract: settings (routes, request_id_headers) or escalate the change",
        )
    if count[DRIFT]:
        return Row("contract drift", UNKNOWN, detail, f"see {path}: update the sandbox and the contract's (gap) notes")
    return Row("contract drift", PASS, detail)


def compare(name: str, ex: Exchange, spec: dict[str, Any], id_headers: list[str]) -> Finding:
    route = ROUTES[ex.route] if ex.route in ROUTES else None
    template = route.template if route else ex.path
    finding = Finding(name, ex.method, template, ex.status)
    if ex.status is None:
        finding.add(BREAKING, f"no answer: {ex.error}")
        return finding
    schema = response_schema(spec, template, ex.method, ex.status)
    if schema is None:
        finding.add(BREAKING, f"status {ex.status}: the sandbox never answers this route with it")
    elif "json" not in ex.response_headers.get("content-type", ""):
        finding.add(BREAKING, f"content-type {ex.response_headers.get('content-type')}, the sandbox's is JSON")
    elif ex.status >= 400:
        _error_body(finding, ex, schema, spec)
    else:  # one line per field, not per list item
        reads = READS.get(ex.route or "", ())
        for line in dict.fromkeys(re.sub(r"\[\d+\]", "[*]", p) for p in problems(ex.response_body, schema, spec)):
            finding.add(_kind(line, reads), line)
    _headers(finding, ex, id_headers, name)
    return finding


def _kind(line: str, reads: tuple[str, ...]) -> str:
    if line.endswith(": not in the sandbox's model"):
        return VARIANT  # the contract lets answers carry fields it does not name
    return BREAKING if line.split(":", 1)[0] in reads else DRIFT


def _error_body(finding: Finding, ex: Exchange, schema: dict[str, Any], spec: dict[str, Any]) -> None:
    """The run reads an error's code (and reason) from the flat, nested or RFC 9457 shape alike."""
    found = list(dict.fromkeys(re.sub(r"\[\d+\]", "[*]", p) for p in problems(ex.response_body, schema, spec)))
    body = ex.response_body if isinstance(ex.response_body, dict) else {}
    if ex.error_code is None:
        finding.add(BREAKING, "the error code cannot be read (not flat, nested or RFC 9457)")
        for line in found:
            finding.add(DRIFT, line)
        return
    flat = isinstance(body.get("error"), str)
    if not flat:
        finding.add(VARIANT, f"the error body comes in the {_shape(body)} shape, which the run reads")
    for line in found:
        documented = not flat or line.endswith(": not in the sandbox's model")
        finding.add(VARIANT if documented else DRIFT, line)


def _shape(body: dict[str, Any]) -> str:
    return "nested" if isinstance(body.get("error"), dict) else "RFC 9457"


def _headers(finding: Finding, ex: Exchange, id_headers: list[str], name: str) -> None:
    present = [h for h in id_headers if ex.response_headers.get(h)]
    if not present:
        finding.add(DRIFT, f"no request-id header (looked for {', '.join(id_headers)})")
    elif "x-request-id" not in present:
        finding.add(VARIANT, f"the request id comes as {present[0]} (configured in contract.request_id_headers)")
    missing = [h for h in RATE_LIMIT_HEADERS if h not in ex.response_headers]
    if missing and name != "system_health":  # the sandbox exempts liveness from throttles too
        finding.add(DRIFT, f"headers missing: {', '.join(missing)}")


def table(findings: list[Finding], skipped: list[dict[str, str]] = ()) -> str:
    marks = {BREAKING: "BREAKS ", DRIFT: "drift  ", VARIANT: "variant", "same": "same   "}
    lines = ["contract drift (each answer against the sandbox's model):"]
    for f in findings:
        lines.append(f"  {marks[f.kind]}  {f.method} {f.path} -> {f.status}  ({f.probe})")
        lines += [f"             {p}" for p in f.problems[:8]]
    lines += [f"  not made  {s['probe']}: {s['why']}" for s in skipped]
    return "\n".join(lines)


def _trim(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: _trim(v) for k, v in body.items()}
    if isinstance(body, list):
        return [_trim(v) for v in body[:3]]
    return body[:2000] if isinstance(body, str) else body


def _file(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name).strip("-")[:80]


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
