"""Step 2: the PAT (automation) health route answers and agrees with JWT health."""

from __future__ import annotations

from preflight.core.categories import Category
from preflight.lifecycle.checks import fail
from preflight.lifecycle.model import StepRun
from preflight.lifecycle.steps.health import Health, check_consistent, fetch


def check_agreement(run: StepRun) -> tuple[Health, Health]:
    # Compare before checking each verdict's own consistency: a disagreement is the finding.
    jwt = fetch(run, surface="jwt", consistent=False)
    pat = fetch(run, surface="pat", consistent=False)
    differences = _differences(jwt, pat)
    if differences:
        raise fail(
            Category.HEALTH_MISMATCH,
            "PAT and JWT campaign health disagree: " + "; ".join(differences),
            expected=f"PAT health = JWT health: {_verdict(jwt)}",
            actual=f"PAT health: {_verdict(pat)}",
            exchanges=[jwt.exchange, pat.exchange],
            cause="PAT (automation) and JWT campaign health disagree",
        )
    check_consistent(jwt)
    check_consistent(pat)
    return jwt, pat


def _differences(jwt: Health, pat: Health) -> list[str]:
    out = []
    if jwt.status != pat.status:
        out.append(f"status JWT {jwt.status} vs PAT {pat.status}")
    if jwt.score != pat.score:
        out.append(f"score JWT {jwt.score} vs PAT {pat.score}")
    for cid in sorted(set(jwt.checks) | set(pat.checks)):
        a = jwt.checks.get(cid, {}).get("status")
        b = pat.checks.get(cid, {}).get("status")
        if a != b:
            out.append(f"check {cid} JWT {a} vs PAT {b}")
    return out


def _verdict(health: Health) -> str:
    checks = ", ".join(f"{cid} {c['status']}" for cid, c in sorted(health.checks.items()))
    return f"{health.status} {health.score} ({checks})"
