"""The daily write quota as the platform's own meters tell it (`GET …/usage-meters`), and what
to make of a write the platform refuses for it.

When the platform refuses a write with 429 `daily_quota`, its meters are asked again: if they
still show writes left, the platform and its meters disagree. That is the platform's defect, not
the user's plan: the failure becomes `meters_mismatch` (escalated, with both request ids), and the
run still ends ERROR, since nothing after it was judged. If the meters agree the day is spent (by
this run beyond its plan, or by someone else on the handle), it stays `quota`, the user's to wait for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from preflight.core.categories import Category
from preflight.http.client import PlatformClient
from preflight.http.exchange import Exchange
from preflight.lifecycle.checks import expect_json_object, expect_status
from preflight.lifecycle.failures import PreflightFailure

BEFORE_FILE = "meters-before.json"  # in the run's scratch folder: what the meters said before the run


def read_meters(client: PlatformClient, step: str = "setup") -> tuple[dict[str, Any] | None, str | None, Exchange]:
    """usage-meters, or None with None on a deployment without them, or None with the problem."""
    ex = client.call("usage_meters", step=step)
    if ex.status == 404:
        return None, None, ex
    try:
        body = expect_status(ex, 200, doing="reading the daily write quota")
        return (
            expect_json_object(
                ex, body, doing="reading usage meters", fields={"writesPerDay": int, "writesToday": int}
            ),
            None,
            ex,
        )
    except PreflightFailure as failure:
        return None, failure.summary, ex


def keep_before(scratch: str, meters: dict[str, Any], ex: Exchange) -> None:
    """What the meters said before the run, for the workers (a refusal later is judged against it)."""
    doc = {"meters": meters, "requestId": ex.request_id}
    (Path(scratch) / BEFORE_FILE).write_text(json.dumps(doc))


def before(scratch: str | None) -> dict[str, Any] | None:
    path = Path(scratch) / BEFORE_FILE if scratch else None
    return json.loads(path.read_text()) if path is not None and path.is_file() else None


def refused_for_quota(failure: PreflightFailure) -> Exchange | None:
    """The write a `quota` failure is about: a 429 whose reason is `daily_quota`."""
    ex = failure.failing_exchange
    if failure.category != Category.QUOTA or ex is None or ex.status != 429:
        return None
    return ex if ex.body_field("reason") == "daily_quota" else None


def second_opinion(client: PlatformClient, failure: PreflightFailure, scratch: str | None) -> PreflightFailure:
    """The failure as it stands, or a `meters_mismatch` one when the meters still show writes left."""
    refused = refused_for_quota(failure)
    if refused is None:
        return failure
    now, _, meters_ex = read_meters(client, step=refused.step or "setup")
    if now is None or now["writesToday"] >= now["writesPerDay"]:
        return failure  # the meters agree: the day's writes are spent
    earlier = before(scratch)
    left_before = ""
    if earlier:
        m = earlier["meters"]
        left_before = (
            f"; before the run they showed {m['writesPerDay'] - m['writesToday']} left "
            f"(request {earlier.get('requestId') or 'n/a'})"
        )
    left = now["writesPerDay"] - now["writesToday"]
    return PreflightFailure(
        category=Category.METERS_MISMATCH,
        summary=(
            f"the platform refused {refused.method} {refused.path} with 429 daily_quota, while its own usage-meters "
            f"show {left} of {now['writesPerDay']} writes left{left_before}: the platform and its meters disagree"
        ),
        expected=f"the write accepted (usage-meters: writesToday {now['writesToday']} of {now['writesPerDay']})",
        actual=f"429 daily_quota: {refused.body_field('message') or refused.body_excerpt(200)}",
        exchanges=[refused, meters_ex],
        cause="the platform refuses writes for its daily quota while its usage-meters show writes left",
        next_step=(
            "nothing was judged: the platform's quota and its usage-meters disagree, which is the platform's to "
            "fix; escalate with both request ids (the payload is ready), and re-run once it answers"
        ),
    )
