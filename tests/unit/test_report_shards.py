"""The verdict and summary of a shard (`--shard I/N`) and of a merge of shards."""

from __future__ import annotations

from preflight.report.facts import RunFacts
from preflight.report.judgement import verdict as judge
from preflight.report.summary import render_summary

EMPTY = {"index": 3, "total": 3, "campaigns": [], "configured": ["spring-ab", "diwali-sale"]}
FAILED = {
    "nodeid": "suites/test_publish.py::test_schema_fetch_matches_publish[spring-ab]",
    "step": "publish",
    "campaignId": "pf-1-spring-ab",
    "outcome": "failed",
    "category": "schema_fetch",
    "message": "[schema_fetch] x",
}


def test_a_shard_with_no_campaign_passes_saying_why():
    verdict, reason = judge([], RunFacts(planned=51, selected=0, shard=EMPTY))
    assert (verdict, reason) == (
        "PASS",
        "shard 3/3 holds none of the config's 2 campaign(s): nothing to run here, the other shards run them",
    )


def test_an_empty_shard_that_could_not_start_or_was_stopped_is_still_error():
    assert judge([], RunFacts(selected=0, shard=EMPTY, problem="token expired"))[0] == "ERROR"
    assert judge([], RunFacts(selected=0, shard=EMPTY, stopped="interrupted by SIGINT"))[0] == "ERROR"


def test_a_shard_with_campaigns_and_nothing_selected_is_error():
    shard = {**EMPTY, "campaigns": ["spring-ab"]}
    assert judge([], RunFacts(selected=0, shard=shard))[0] == "ERROR"


def test_a_merge_missing_a_shard_is_error_even_with_a_failure():
    facts = RunFacts(selected=1, shards_problem="the shards do not make a whole run: shard 2/2 is missing")
    assert judge([FAILED], facts) == ("ERROR", facts.shards_problem)


def test_the_summary_names_the_shard_and_a_merge_lists_its_shards():
    text = render_summary(
        run_id="r1", target="sandbox", results=[], report_path=None, facts=RunFacts(selected=0, shard=EMPTY)
    )
    assert "Shard 3/3: campaign(s) none of the 2 configured." in text
    rows = [
        {"index": 1, "total": 2, "dir": "shards/a", "verdict": "FAIL", "campaigns": ["spring-ab"], "ran": 24},
        {"index": 2, "total": 2, "dir": None, "verdict": None, "campaigns": None, "ran": None},
    ]
    text = render_summary(
        run_id="r1", target="sandbox", results=[FAILED], report_path=None, facts=RunFacts(selected=1, shards=rows)
    )
    assert "| 1/2 | ❌ FAIL | spring-ab | 24 | `shards/a` |" in text
    assert "| 2/2 | 💥 no gate | — | — | `n/a` |" in text
