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
from preflight.core.routes import ROUTES
from preflight.http.client import PlatformClient
from preflight.http.connect import Connection
from preflight.http.exchange import Exchange
from preflight.http.readiness import FAIL, PASS, Row

RATE_LIMIT_HEADERS = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")
NOT_THERE = "pf-drift-probe"  # a campaign no run creates: its answers are the error shapes


@dataclass
class Finding:
    probe: str
    method: str
    path: str
    status: int | None
    problems: list[str] = field(default_factory=list)


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


def probes(client: PlatformClient, campaign: str | None, slug: str | None) -> list[tuple[str, Exchange]]:
    """Every read the check makes: (probe name, exchange). GETs only."""
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
    if campaign:
        calls += [
            (name, (lambda name=name: client.call(name, step="drift", campaignId=campaign)))
            for name in ("campaign_health", "public_campaign_health", "get_site_structure", "public_get_site_structure")
        ]
    if slug:
        calls.append(("get_link", lambda: client.call("get_link", step="drift", slug=slug)))
    return [(name, call()) for name, call in calls]


def check(conn: Connection, reports: Path) -> tuple[Row, str]:
    """Run the probes on the target, compare, write the drift report; (doctor row, readable table)."""
    spec = sandbox_openapi()
    listing = conn.client.call("list_campaigns", step="drift", params={"limit": 1})
    items = listing.response_body.get("items", []) if isinstance(listing.response_body, dict) else []
    # Found tolerantly: a renamed field is what this check is here to report, not a reason to stop.
    first = items[0] if items and isinstance(items[0], dict) else {}
    campaign = first.get("campaignId") or first.get("campaign_id") or first.get("id")
    primary = first.get("primaryLink") if campaign and isinstance(first.get("primaryLink"), dict) else None
    findings = []
    samples = reports / "contract-samples"
    samples.mkdir(parents=True, exist_ok=True)
    for name, ex in probes(conn.client, campaign, primary.get("slug") if primary else None):
        findings.append(compare(name, ex, spec, list(conn.target.contract.request_id_headers)))
        sample = {"status": ex.status, "headers": ex.response_headers, "body": _trim(ex.response_body)}
        (samples / f"{_file(name)}.json").write_text(json.dumps(redact_obj(sample), indent=2, default=str) + "\n")
    drifted = [f for f in findings if f.problems]
    doc = {
        "target": conn.target.name,
        "baseUrl": conn.client.base_url,
        "checkedAt": _now(),
        "campaignRead": campaign,
        "routes": [f.__dict__ for f in findings],
        "notChecked": [
            "Idempotent-Replayed: a replay needs a write, and this check writes nothing",
            "write answers (create, PUT, publish, conversions, leads): writes only in a run",
        ],
    }
    path = reports / "contract-drift.json"
    path.write_text(json.dumps(redact_obj(doc), indent=2) + "\n")
    row = Row(
        "contract drift",
        FAIL if drifted else PASS,
        f"{len(drifted)} of {len(findings)} answers differ from the sandbox's models"
        if drifted
        else f"{len(findings)} answers match the sandbox's models",
        f"see {path}: update the sandbox and the contract's (gap) notes, or the target's contract: settings"
        if drifted
        else "",
    )
    return row, table(findings)


def compare(name: str, ex: Exchange, spec: dict[str, Any], id_headers: list[str]) -> Finding:
    route = ROUTES[ex.route] if ex.route in ROUTES else None
    template = route.template if route else ex.path
    finding = Finding(name, ex.method, template, ex.status)
    if ex.status is None:
        finding.problems.append(f"no answer: {ex.error}")
        return finding
    schema = response_schema(spec, template, ex.method, ex.status)
    if schema is None:
        finding.problems.append(f"status {ex.status}: the sandbox never answers this route with it")
    elif "json" not in ex.response_headers.get("content-type", ""):
        finding.problems.append(f"content-type {ex.response_headers.get('content-type')}, the sandbox's is JSON")
    else:  # one line per field, not per list item
        found = problems(ex.response_body, schema, spec)
        finding.problems += list(dict.fromkeys(re.sub(r"\[\d+\]", "[*]", line) for line in found))
    if not any(ex.response_headers.get(h) for h in id_headers):
        finding.problems.append(f"no request-id header (looked for {', '.join(id_headers)})")
    missing = [h for h in RATE_LIMIT_HEADERS if h not in ex.response_headers]
    if missing and name != "system_health":  # the sandbox exempts liveness from throttles too
        finding.problems.append(f"headers missing: {', '.join(missing)}")
    return finding


def table(findings: list[Finding]) -> str:
    lines = ["contract drift (each answer against the sandbox's model):"]
    for f in findings:
        mark = "drift" if f.problems else "same "
        lines.append(f"  {mark}  {f.method} {f.path} -> {f.status}  ({f.probe})")
        lines += [f"           {p}" for p in f.problems[:8]]
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
