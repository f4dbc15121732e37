"""Pure parts of the write plan, the journal and the drift check."""

from __future__ import annotations

import json

from preflight.lifecycle import journal
from preflight.ops.drift import problems
from preflight.ops.plan import Line, WritePlan, fit


def plan_of(costs: dict[str, int]):
    """A plan_for(stems, foreign) where each campaign costs its own writes, +2 when it runs alone
    with its foreign check (it borrows another campaign), as the real plan does."""

    def plan_for(stems, foreign):
        lines = [
            Line(s, "x", "x", costs[s] + (2 if foreign and len(stems) == 1 and len(costs) > 1 else 0)) for s in stems
        ]
        return WritePlan(lines)

    return plan_for


def test_a_plan_that_fits_says_so():
    result = fit(plan_of({"a": 7, "b": 10}), ["a", "b"], {"plan": "ENTERPRISE", "writesPerDay": 500, "writesToday": 3})
    assert (result.fits, result.writes_left, result.total, result.split) == (True, 497, 17, [])


def test_a_plan_that_does_not_fit_is_split_into_days_and_drops_the_foreign_check_when_it_must():
    meters = {"plan": "PRO", "writesPerDay": 10, "writesToday": 4, "resetsAt": "2026-12-02T00:00:00Z"}
    result = fit(plan_of({"a": 7, "b": 10}), ["a", "b"], meters)
    assert not result.fits and result.writes_left == 6
    assert result.problem == (
        "this run needs 17 writes and the handle has 6 of 10 left today (plan PRO, resets at 2026-12-02T00:00:00Z)"
    )
    assert [(b["when"], b["campaigns"], b["writes"], b["select"]) for b in result.split] == [
        ("after 2026-12-02T00:00:00Z", ["a"], 9, "-k 'a'"),
        ("1 day(s) after 2026-12-02T00:00:00Z", ["b"], 10, "-k 'b and not foreign_ctx'"),
    ]


def test_a_campaign_no_day_can_hold_is_named():
    meters = {"plan": "FREE", "writesPerDay": 2, "writesToday": 0, "resetsAt": "r"}
    result = fit(plan_of({"a": 7}), ["a"], meters)
    assert [(b["when"], b["campaigns"]) for b in result.split] == [("never on this plan", ["a"])]


def test_the_journal_folds_every_writer_in_time_order(tmp_path):
    first = journal.Journal(tmp_path, "run-1", "gw0", base_url="http://p")
    first.enabling("pf-run-1-a", "h", "a-1", {"destinationUrl": "https://x"})
    first.campaign("pf-run-1-a", "h", created=True)
    first.link("pf-run-1-a", "h", "a-1", journal.LIVE, request_id="req_1")
    first.enabling("pf-run-1-a", "h", "a-2", {"destinationUrl": "https://y"})  # its answer never came
    controller = journal.Journal(tmp_path, "run-1", "controller", base_url="http://p")
    controller.link("pf-run-1-a", "h", "a-1", journal.RETIRED, request_id="req_2")
    with (tmp_path / "run-1" / "gw0.jsonl").open("a") as out:
        out.write('{"event": "enabled", "campaignId": "pf-run-1-a", "sl')  # cut by a crash
    record = journal.read(tmp_path, "run-1")["pf-run-1-a"]
    assert record.created is True and record.base_url == "http://p"
    assert {s: link.state for s, link in record.links.items()} == {"a-1": journal.RETIRED, "a-2": journal.MAYBE}
    assert [link.slug for link in record.live_links] == ["a-2"]
    assert record.links["a-2"].body == {"destinationUrl": "https://y"}
    assert journal.leftovers([record]) == [
        {
            "campaignId": "pf-run-1-a",
            "handle": "h",
            "runId": "run-1",
            "linksLeftEnabled": [{"slug": "a-2", "state": "maybe", "error": None}],
        }
    ]
    assert journal.run_ids(tmp_path) == ["run-1"]


SPEC = {
    "components": {
        "schemas": {
            "Health": {
                "type": "object",
                "required": ["campaignId", "status"],
                "properties": {
                    "campaignId": {"type": "string"},
                    "status": {"enum": ["PASS", "WARN", "FAIL", "PENDING"]},
                    "score": {"type": "integer"},
                    "checks": {"type": "array", "items": {"$ref": "#/components/schemas/Check"}},
                },
            },
            "Check": {
                "type": "object",
                "required": ["id"],
                "properties": {"id": {"type": "string"}, "detail": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
            },
        }
    }
}
HEALTH = {"$ref": "#/components/schemas/Health"}


def test_drift_names_missing_extra_mistyped_and_unknown_enum_values():
    same = {"campaignId": "c", "status": "PASS", "score": 100, "checks": [{"id": "x", "detail": None}]}
    assert problems(same, HEALTH, SPEC) == []
    drifted = {"campaign_id": "c", "status": "OK", "score": "100", "checks": [{"id": 1, "more": True}]}
    assert sorted(problems(drifted, HEALTH, SPEC)) == sorted(
        [
            "body.campaignId: missing",
            "body.campaign_id: not in the sandbox's model",
            "body.status: \"OK\" is not one of ['PASS', 'WARN', 'FAIL', 'PENDING']",
            "body.score: expected integer, got str",
            "body.checks[0].more: not in the sandbox's model",
            "body.checks[0].id: expected string, got int",
        ]
    )
    assert problems({**same, "checks": [{"id": "x", "detail": 3}]}, HEALTH, SPEC) == [
        "body.checks[0].detail: expected string, got int"
    ]  # the closest option of an anyOf says it
    assert json.dumps(problems([], HEALTH, SPEC)) == '["body: expected object, got list"]'
