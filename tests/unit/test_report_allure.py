"""report.allure: no-ops without allure-pytest, environment/executor files, config vs categories."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from preflight.core.categories import MEANINGS as CATEGORIES
from preflight.core.redact import redact_headers, register_secret
from preflight.http.exchange import Exchange
from preflight.report import allure as report_allure

ROOT = Path(__file__).resolve().parents[2]
JWT = "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiJ4In0.c2lnbmF0dXJl"  # in parts: no committed line looks like a token


@pytest.fixture
def not_recording(monkeypatch):
    """As if pytest ran without --alluredir, whatever this run's own options are."""
    monkeypatch.setattr(report_allure, "_listener", lambda: None)

    def must_not_be_called(*args, **kwargs):
        raise AssertionError("allure was called while not recording")

    monkeypatch.setattr(report_allure.allure, "attach", must_not_be_called)
    monkeypatch.setattr(report_allure.allure.dynamic, "feature", must_not_be_called)


def exchange() -> Exchange:
    return Exchange.build(
        method="GET",
        url="http://127.0.0.1:9/v2/x",
        path="/v2/x",
        surface="jwt",
        status=200,
        duration_ms=1.25,
        request_id="req-1",
        request_headers=[("authorization", f"Bearer {JWT}")],
        request_body=None,
        response_headers=[("x-request-id", "req-1")],
        response_body={"ok": True},
    )


def test_everything_is_a_noop_when_not_recording(not_recording):
    assert report_allure.in_allure_context() is False
    report_allure.set_labels("health", "spring-ab", "spring-a", campaign_id="pf-1", slug="spring-a-abc123")
    report_allure.describe_test("A title: spring-a", "spring-ab", "spring-a")
    report_allure.set_category("invalid_ctx")
    report_allure.attach_exchange(exchange())
    report_allure.attach_json("x", {"a": 1})


def test_unknown_step_is_refused():
    with pytest.raises(KeyError):
        report_allure.set_labels("campaign_health", "x", None)


def test_features_are_the_six_steps_numbered_then_the_journey_readiness_and_funnel():
    """The audit of the live campaign first (one group), then UC-07's six steps, the shopper's
    journey, readiness, and the platform's funnel numbers."""
    assert report_allure.FEATURES == (
        "0 · Live campaign audit",
        "1 · Campaign health",
        "2 · PAT health",
        "3 · Lead capture",
        "4 · Test conversion",
        "5 · Detail page publish",
        "6 · Public conversion",
        "7 · Shopper's journey",
        "8 · Readiness",
        "9 · Platform funnel numbers",
    )
    assert report_allure.EPIC == "Campaign lifecycle"


def test_exchange_document_is_redacted_complete_and_reads_top_down():
    doc = report_allure.exchange_document(exchange())
    assert {
        "method",
        "url",
        "status",
        "durationMs",
        "requestId",
        "requestHeaders",
        "requestBody",
        "responseHeaders",
        "responseBody",
        "curl",
    } <= set(doc)
    assert list(doc)[:3] == ["request", "status", "requestId"]
    assert doc["request"] == f"{doc['method']} {doc['url']}"
    assert JWT not in json.dumps(doc) and "$PREFLIGHT_JWT" in doc["curl"]


def test_write_environment(tmp_path):
    path = report_allure.write_environment(
        tmp_path / "res", {"target": "sandbox", "base url": "http://127.0.0.1:1", "note": f"a\nb {JWT}", "skip": None}
    )
    lines = path.read_text().splitlines()
    assert lines == ["target=sandbox", "base\\ url=http://127.0.0.1:1", "note=a\\nb [REDACTED]"]


def test_write_executor(tmp_path):
    doc = json.loads(report_allure.write_executor(tmp_path, {"buildName": "run-42"}).read_text())
    assert doc == {
        "name": "campaign-preflight",
        "type": "local",
        "reportName": "campaign-preflight",
        "buildName": "run-42",
    }


def test_allurerc_defines_one_category_per_failure_category():
    text = (ROOT / "allurerc.mjs").read_text()
    block = re.search(r"PREFLIGHT_CATEGORIES = \[(.*?)\];", text, re.DOTALL).group(1)
    assert re.findall(r'"([a-z_]+)"', block) == list(CATEGORIES)
    assert 'historyPath: context.historyPath ?? "reports/history/report.jsonl"' in text
    assert 'output: "reports/allure-report"' in text
    assert 'name: context.name ?? "campaign-preflight"' in text and "awesome:" in text
    assert 'defaultSortBy: "name,asc"' in text and "variables: context.variables" in text


def compact_files(tmp_path: Path) -> tuple[report_allure.CompactFileLogger, type, type, type]:
    from allure_commons.model2 import TestBeforeResult, TestResult, TestResultContainer

    return report_allure.CompactFileLogger(str(tmp_path)), TestResult, TestResultContainer, TestBeforeResult


def written(tmp_path: Path, kind: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(tmp_path.glob(f"*-{kind}.json"))]


def test_compact_logger_writes_one_container_per_test_in_set_up_order(tmp_path):
    logger, Result, Container, Before = compact_files(tmp_path)
    # Torn down last-set-up-first, as pytest finalizes them; same millisecond, so order is by arrival.
    for name in ("fresh_ctx", "step_run", "artifacts"):
        logger.report_container(
            Container(uuid=f"c-{name}", children=["t1"], befores=[Before(name=name, start=5)], start=5, stop=9)
        )
    logger.report_container(Container(uuid="c-pseudo", children=[], befores=[Before(name="campaign")]))
    logger.report_container(Container(uuid="c-session", children=["t1", "t2"], befores=[Before(name="platform")]))
    logger.drain()
    assert [c["uuid"] for c in written(tmp_path, "container")] == ["c-session"]  # held until the result
    logger.report_result(Result(uuid="t1", name="a test", status="passed"))
    logger.drain()
    containers = {c["uuid"]: c for c in written(tmp_path, "container")}
    assert set(containers) == {"c-session", "c-fresh_ctx"}
    assert [b["name"] for b in containers["c-fresh_ctx"]["befores"]] == ["artifacts", "step_run", "fresh_ctx"]
    assert containers["c-fresh_ctx"]["children"] == ["t1"] and containers["c-fresh_ctx"]["start"] == 5
    assert [r["name"] for r in written(tmp_path, "result")] == ["a test"]
    assert not list(tmp_path.glob("*.tmp"))


def test_compact_logger_flushes_what_no_result_claimed(tmp_path):
    logger, _, Container, Before = compact_files(tmp_path)
    logger.report_container(Container(uuid="c1", children=["interrupted"], befores=[Before(name="step_run")]))
    assert written(tmp_path, "container") == []
    logger.flush()
    assert [c["befores"][0]["name"] for c in written(tmp_path, "container")] == ["step_run"]


@pytest.fixture
def attached(monkeypatch):
    """What attach_json hands to allure, as if a test were being recorded: (name, body) pairs."""
    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(report_allure, "_listener", lambda: object())
    monkeypatch.setattr(report_allure.allure, "attach", lambda body, name, **kwargs: calls.append((name, body)))
    return calls


def test_an_exchange_attachment_is_redacted_again_on_the_way_out(attached):
    """A secret registered after the exchange was recorded (a reused read attached later) is still
    masked in the attachment, in its name and wherever it sits in the document."""
    late = "late-registered-" + "secret-4321"
    recorded = Exchange.build(
        method="GET",
        url=f"http://127.0.0.1:9/v2/x?q={late}",
        path=f"/v2/{late}",
        surface="public",
        status=200,
        duration_ms=1.0,
        request_id=f"req-{late}",
        request_headers=[("x-note", late)],
        request_body=None,
        response_body={"items": [{"note": f"a {late} b"}]},
    )
    report_allure.attach_exchange(recorded)
    assert late in json.dumps(report_allure.exchange_document(recorded))  # recorded before it was known
    register_secret(late)
    report_allure.attach_exchange(recorded)
    name, body = attached[-1]
    assert late not in name and late not in body and "[REDACTED]" in body
    assert json.loads(body)["responseBody"]["items"][0]["note"] == "a [REDACTED] b"


def test_a_secret_that_json_escapes_is_redacted_in_an_attachment(attached):
    quoted = 'with"quote\\and-more-' + "secret-77"
    register_secret(quoted)
    report_allure.attach_json("doc", {"text": f"see {quoted}!", "n": 1})
    ((_, body),) = attached
    assert json.loads(body) == {"n": 1, "text": "see [REDACTED]!"}


def test_a_document_without_secrets_is_attached_as_it_is(attached):
    document = {"b": "plain text", "a": [1, 2.5, None, True], "c": {"nested": "ünïcode"}}
    report_allure.attach_json("doc", document)
    report_allure.attach_json("doc, ordered", document, ordered=True)
    assert [body for _, body in attached] == [
        json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False),
        json.dumps(document, indent=2, ensure_ascii=False),
    ]


def test_header_values_holding_a_secret_are_masked_and_the_rest_kept():
    registered = "header-borne-" + "secret-999"
    register_secret(registered)
    headers = redact_headers(
        [("Authorization", f"Bearer {JWT}"), ("X-Trace", f"id {registered}"), ("X-Shape", f"t={JWT}"), ("A", "b")]
    )
    assert headers == {
        "authorization": "Bearer [REDACTED]",
        "x-trace": "id [REDACTED]",
        "x-shape": "t=[REDACTED]",
        "a": "b",
    }
    assert redact_headers([("Content-Type", "application/json"), ("x-request-id", "req-1")]) == {
        "content-type": "application/json",
        "x-request-id": "req-1",
    }


def test_compact_logger_writes_attachments_whole_and_in_place(tmp_path):
    logger = report_allure.CompactFileLogger(str(tmp_path))
    logger.report_attached_data(body="{}", file_name="a-attachment.json")
    logger.report_attached_data(body=b"\x89PNG", file_name="b-attachment.png")
    logger.drain()
    assert (tmp_path / "a-attachment.json").read_text() == "{}"
    assert (tmp_path / "b-attachment.png").read_bytes() == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-attachment.json", "b-attachment.png"]


def test_a_result_file_that_could_not_be_written_is_said_when_the_writer_drains(tmp_path, capsys):
    """The files are written off the test's path: one that fails is named on stderr at the end of the
    session, never lost quietly; the writer goes on with the next."""
    logger = report_allure.CompactFileLogger(str(tmp_path))
    logger.report_attached_data(body="{}", file_name="gone/a-attachment.json")  # no such folder
    logger.report_attached_data(body="{}", file_name="b-attachment.json")
    logger.drain()
    err = capsys.readouterr().err
    assert err.startswith(f"preflight: 1 Allure result file(s) could not be written to {tmp_path} "), err
    assert "FileNotFoundError" in err and "gone/a-attachment.json" in err, err
    assert (tmp_path / "b-attachment.json").read_text() == "{}"
    logger.drain()
    assert capsys.readouterr().err == "", "said once"
