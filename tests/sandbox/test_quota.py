"""The daily write quota per plan, its 429 body and usage-meters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sandbox_helpers import HANDLE, error_of


def _midnight_after(text: str) -> datetime:
    now = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)


def test_free_plan_allows_two_writes_then_daily_quota(api, sb):
    sb.set_plan(HANDLE, "FREE")
    assert api.link("first-link").status_code == 201
    assert api.link("second-link").status_code == 201
    response = api.put("/v2/handles/{h}/links/third-link", json={"destinationUrl": "https://x.example/"})
    body = error_of(response, 429, "rate_limited")
    now = sb.info()["now"]
    day = now[:10].replace("-", "")
    assert {k: body[k] for k in ("reason", "plan", "limits", "usage")} == {
        "reason": "daily_quota",
        "plan": "FREE",
        "limits": {"writesPerDay": 2},
        "usage": {"writesToday": 2, "writesDay": day},
    }
    retry_after = int(response.headers["retry-after"])
    to_midnight = (
        _midnight_after(now) - datetime.strptime(now, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    ).total_seconds()
    assert abs(retry_after - to_midnight) <= 2
    meters = api.get("/v2/handles/{h}/usage-meters").json()
    assert meters == {
        "plan": "FREE",
        "writesPerDay": 2,
        "writesToday": 2,
        "resetsAt": _midnight_after(now).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }


def test_plans_have_their_limits(api, sb):
    for plan, limit in (("FREE", 2), ("PRO", 10), ("ENTERPRISE", 500)):
        sb.set_plan(HANDLE, plan)
        meters = api.get("/v2/handles/{h}/usage-meters").json()
        assert (meters["plan"], meters["writesPerDay"]) == (plan, limit)


def test_pro_plan_allows_ten(api, sb):
    sb.set_plan(HANDLE, "PRO")
    for i in range(10):
        assert api.link(f"link-{i:02d}").status_code == 201
    error_of(
        api.put("/v2/handles/{h}/links/link-10", json={"destinationUrl": "https://x.example/"}),
        429,
        "rate_limited",
        reason="daily_quota",
        plan="PRO",
    )


def test_public_and_support_writes_are_not_counted(api, sb):
    api.campaign()
    sb.set_plan(HANDLE, "FREE")
    ctx = api.ctx("spring-a")
    assert api.convert(ctx, key="c1").status_code == 201
    assert api.lead(ctx).status_code == 201
    assert api.post("/v2/support/report", json={"summary": "s", "details": "d"}).status_code == 202
    pat = api.pat
    body = {
        "detailsPageSlug": "spring",
        "accessMode": "FREE_WITH_LOGIN",
        "schema": {"sections": [{"type": "form", "fields": [{"name": "email", "required": True}]}]},
        "schemaVersion": 0,
    }
    assert api.put("/v2/public/handles/{h}/site-structure/campaigns/spring-ab", token=pat, json=body).status_code == 200
    assert api.post("/v2/public/handles/{h}/site-structure/campaigns/spring-ab/publish", token=pat).status_code == 201
    assert api.get("/v2/handles/{h}/usage-meters").json()["writesToday"] == 1  # the campaign


def test_reads_are_not_counted_and_failed_auth_is_not_counted(api, sb):
    sb.set_plan(HANDLE, "FREE")
    api.get("/v2/handles/{h}/campaigns")
    api.put("/v2/handles/{h}/links/abcd", token=None, json={"destinationUrl": "https://x.example/"})
    assert api.get("/v2/handles/{h}/usage-meters").json()["writesToday"] == 0


def test_quota_day_turns_with_the_sandbox_clock(api, sb):
    sb.set_plan(HANDLE, "FREE")
    api.link("first-link")
    api.link("second-link")
    assert api.put("/v2/handles/{h}/links/third-link", json={"destinationUrl": "https://x.example/"}).status_code == 429
    sb.advance_clock(24 * 3600)
    assert api.put("/v2/handles/{h}/links/third-link", json={"destinationUrl": "https://x.example/"}).status_code == 201
    assert api.get("/v2/handles/{h}/usage-meters").json()["writesToday"] == 1
