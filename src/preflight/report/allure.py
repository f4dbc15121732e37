"""Every Allure call of the project lives here (nothing else imports allure or allure_commons).

Each function is a no-op when allure-pytest is not recording (no --alluredir), or when
there is no test or fixture to attach to: reporting must never fail a test.
Everything written is redacted again on the way out, in case a secret was registered
after an exchange was recorded.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from preflight.core.redact import json_holds_secret, redact_obj, redact_text
from preflight.http.exchange import Exchange
from preflight.lifecycle.playbook import AUDIT, STEPS

if TYPE_CHECKING:
    import pytest

try:  # allure-pytest is a dependency, but the harness's own unit tests may run without it
    import allure
    import allure_commons
    import attrs
    from allure_commons.logger import AllureFileLogger
    from allure_commons.model2 import TestResultContainer
except ImportError:  # pragma: no cover
    allure = None
    allure_commons = None

EPIC = "Campaign lifecycle"
AUDIT_EPIC = "Live campaign audit"
# The report's groups: UC-07's six steps, numbered so they sort in playbook order, the shopper's
# journey as the seventh and the readiness re-checks as the eighth (allurerc.mjs groups the trees by these labels).
FEATURES = tuple(dict.fromkeys(step.group for step in STEPS.values()))
CATEGORY_LABEL = "preflight_category"  # allurerc.mjs matches categories on it as well as on the message
SKIP_LABEL = "preflight_skip"  # unjudged (HOLD) or by choice: what allurerc.mjs groups skips by
STEP_LABEL, CAMPAIGN_LABEL, VARIANT_LABEL = "preflight_step", "campaign", "variant"


def _listener() -> Any:
    """allure-pytest's listener, when it is recording results (registered only with --alluredir)."""
    if allure_commons is None:
        return None
    for plugin in allure_commons.plugin_manager.get_plugins():
        if hasattr(plugin, "allure_logger") and hasattr(plugin, "add_label"):
            return plugin
    return None


def in_allure_context() -> bool:
    """True when a test is being recorded, so labels and parameters have somewhere to go."""
    listener = _listener()
    try:
        return listener is not None and listener.allure_logger.get_test(None) is not None
    except (StopIteration, KeyError):  # a thread without a recorded parent item
        return False


def set_labels(
    step: str, campaign: str | None, variant: str | None, campaign_id: str | None = None, slug: str | None = None
) -> None:
    """The test's place in the report: its numbered step, its campaign and variant (the
    configured names), every check of equal weight for spend; the run's live ids as parameters."""
    group = STEPS[step].group
    if group not in FEATURES:
        raise ValueError(f"unknown step {step!r}")
    if not in_allure_context():
        return
    allure.dynamic.epic(AUDIT_EPIC if STEPS[step].kind == AUDIT else EPIC)
    allure.dynamic.feature(group)
    allure.dynamic.label(STEP_LABEL, group)
    if campaign:
        allure.dynamic.story(campaign)
        allure.dynamic.label(CAMPAIGN_LABEL, campaign)
    if variant:
        allure.dynamic.label(VARIANT_LABEL, variant)
    # Every check here blocks a spend ramp alike: one severity, so the report has no "no severity".
    allure.dynamic.severity(allure.severity_level.CRITICAL)
    # Excluded from the history id: the throwaway campaign id (and its slugs) change every run,
    # and history must still line up run to run.
    if campaign_id:
        allure.dynamic.parameter("campaignId", campaign_id, excluded=True)
    if slug:
        allure.dynamic.parameter("slug", slug, excluded=True)


NODEID_LABEL = "_nodeid"  # hidden in the report (a leading "_"), for tools that map results to tests


def describe_test(title: str, campaign: str | None, variant: str | None, nodeid: str | None = None) -> None:
    """A title in words, and the campaign and variant as their ids (pytest's own parameters
    would show the whole config object)."""
    if not in_allure_context():
        return
    allure.dynamic.title(title)
    if nodeid:
        allure.dynamic.label(NODEID_LABEL, nodeid)
    if campaign:
        allure.dynamic.parameter("campaign", campaign)
    if variant:
        allure.dynamic.parameter("variant", variant)


def set_category(category: str) -> None:
    """Label the current test with its failure category (catches failures without a [category] prefix)."""
    if in_allure_context():
        allure.dynamic.label(CATEGORY_LABEL, category)
        allure.dynamic.tag(category)


def set_skip_kind(kind: str) -> None:
    """Label a skipped test with why it did not judge (allurerc.mjs groups them: could not judge, by choice)."""
    if in_allure_context():
        allure.dynamic.label(SKIP_LABEL, kind)


def exchange_document(ex: Exchange) -> dict[str, Any]:
    """What one exchange attachment holds, top-down as a person reads it: the request line, the
    answer's status and request id, then headers and bodies (also handy for tests)."""
    return {
        "request": f"{ex.method} {ex.url}",
        "status": ex.status,
        "requestId": ex.request_id,
        "method": ex.method,
        "url": ex.url,
        "durationMs": ex.duration_ms,
        "attempts": ex.attempts,
        "error": ex.error,
        "requestHeaders": ex.request_headers,
        "requestBody": ex.request_body,
        "responseHeaders": ex.response_headers,
        "responseBody": ex.response_body,
        "curl": ex.curl(),
    }


def attach_exchange(ex: Exchange) -> None:
    attach_json(ex.label, exchange_document(ex), ordered=True)


def attach_png(name: str, png: bytes) -> None:
    """A screenshot, shown as an image in the report."""
    _attach(png, name, allure.attachment_type.PNG if allure else None)


def attach_image_diff(name: str, *, expected: bytes, actual: bytes, diff: bytes) -> None:
    """Three PNGs as Allure's image diff (approved | now | diff, with its own compare slider)."""
    import base64

    def data_url(png: bytes) -> str:
        return "data:image/png;base64," + base64.b64encode(png).decode()

    body = json.dumps({"expected": data_url(expected), "actual": data_url(actual), "diff": data_url(diff)})
    _attach(body, name, IMAGE_DIFF, extension="imagediff")


IMAGE_DIFF = "application/vnd.allure.image.diff"


def attach_text(name: str, text: str) -> None:
    """Text shown as text, never rendered (a landing page's HTML is someone else's content)."""
    _attach(redact_text(text), name, allure.attachment_type.TEXT if allure else None)


def attach_trace(name: str, trace: bytes) -> None:
    """A Playwright trace, to download and open with `playwright show-trace <file>` (a plain zip:
    Allure's own trace viewer would load Playwright's from the web)."""
    _attach(trace, name, "application/zip", extension="zip")


def _attach(body: bytes | str, name: str, kind: Any, extension: str | None = None) -> None:
    if allure is None or _listener() is None:
        return
    try:
        allure.attach(body, name=redact_text(name), attachment_type=kind, extension=extension)
    except (KeyError, StopIteration):
        pass  # nothing is running to attach it to: reporting never fails a test


def attach_json(name: str, obj: Any, *, ordered: bool = False) -> None:
    """`ordered`: keep the document's own key order (else sorted, for stable diffs)."""
    if allure is None or _listener() is None:
        return
    body = _json(obj, ordered)
    # Redacted again on the way out: the text is checked once (an exchange, redacted when it was
    # recorded, holds nothing), and only a document holding a secret is redacted and encoded again.
    if json_holds_secret(body):
        body = _json(redact_obj(obj), ordered)
    try:
        allure.attach(body, name=redact_text(name), attachment_type=allure.attachment_type.JSON)
    except (KeyError, StopIteration):
        # Nothing is running to attach it to (allure-commons finds no test, step or fixture): no
        # file was written, and reporting never fails a test.
        pass


def _json(obj: Any, ordered: bool) -> str:
    return json.dumps(obj, indent=2, sort_keys=not ordered, default=str, ensure_ascii=False)


# -- the result files themselves ------------------------------------------------------------


def _kept(_: Any, value: Any) -> bool:
    return bool(value) or value is False  # allure-commons' own filter: empty fields are left out


class CompactFileLogger:
    """allure-pytest's file logger, writing the same content in fewer, cheaper files, off the test's path.

    allure-pytest writes one container per fixture per test (about six a test here, each a file
    created and renamed): the containers that belong to one test alone are held and written as
    one container when the test's result is. And each document is encoded by json.dumps (C) in
    one write, where json.dump runs the pure-Python encoder chunk by chunk. Together a fifth to a
    quarter of the harness's cost per request (bench/overhead.py). Attachments, the most files of
    all (every exchange), are one new file each, with no temporary file and rename.

    The files are written by a thread of their own, in the order they were handed over: creating a
    file costs 30 µs to 0.5 ms here (ext4 on a shared disk), time the next request need not wait for.
    `drain()` returns once every file handed over is written (at the end of the session, before
    anything reads them); a file that could not be written is said on stderr there, never lost quietly.

    A plugin of allure-commons' own plugin manager, implementing its public hooks (`report_*`),
    as allure-commons' AllureFileLogger does; nothing of that class is reused."""

    def __init__(self, report_dir: str) -> None:
        self.report_dir = Path(report_dir).absolute()
        self.report_dir.mkdir(parents=True, exist_ok=True)
        self._prefix = os.path.join(self.report_dir, "")
        self._held: dict[str, list[Any]] = {}
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._failed: list[str] = []

    def _hand_over(self, job: Callable[[], None]) -> None:
        if self._writer is None or not self._writer.is_alive():
            self._writer = threading.Thread(target=self._write_all, name="allure-results-writer", daemon=True)
            self._writer.start()
        self._jobs.put(job)

    def _write_all(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job()
            except OSError as exc:
                self._failed.append(f"{type(exc).__name__}: {exc}")

    def drain(self) -> None:
        """Wait until every file handed over is written; say on stderr what could not be."""
        writer, self._writer = self._writer, None
        if writer is not None:
            self._jobs.put(None)
            writer.join()
        failed, self._failed = self._failed, []
        if failed:
            print(
                f"preflight: {len(failed)} Allure result file(s) could not be written to {self.report_dir} "
                f"(the report lacks them; free space or permissions?): {failed[0]}",
                file=sys.stderr,
            )

    def _write(self, file_name: str, data: bytes) -> None:
        final = self._prefix + file_name

        def write() -> None:
            temporary = final + ".tmp"
            with open(temporary, "wb") as out:
                out.write(data)
            os.replace(temporary, final)  # Allure never reads a half-written result or container

        self._hand_over(write)

    def _write_attachment(self, file_name: str, data: bytes) -> None:
        # Written in place, without a temporary file and a rename (two file-system changes of the
        # results folder for each of ~4 attachments a test): an attachment is read only through the
        # result or container that names it, written (whole) after it.
        path = self._prefix + file_name

        def write() -> None:
            with open(path, "wb") as out:
                out.write(data)

        self._hand_over(write)

    def _write_item(self, item: Any) -> None:
        document = attrs.asdict(item, filter=_kept)
        self._write(
            item.file_pattern.format(prefix=uuid.uuid4()), json.dumps(document, ensure_ascii=False).encode("utf-8")
        )

    if allure_commons is not None:

        @allure_commons.hookimpl
        def report_result(self, result: Any) -> None:
            self._write_item(result)
            held = self._held.pop(result.uuid, None)
            if held:
                self._write_item(merged_container(held))

        @allure_commons.hookimpl
        def report_container(self, container: Any) -> None:
            if not container.children:
                return  # a parametrized argument's pseudo-fixture: Allure shows a container only through its tests
            if len(container.children) == 1 and not (container.name or container.links or container.description):
                self._held.setdefault(container.children[0], []).append(container)
            else:
                self._write_item(container)

        @allure_commons.hookimpl
        def report_attached_file(self, source: str, file_name: str) -> None:
            self._write_attachment(file_name, Path(source).read_bytes())

        @allure_commons.hookimpl
        def report_attached_data(self, body: str | bytes, file_name: str) -> None:
            self._write_attachment(file_name, body.encode("utf-8") if isinstance(body, str) else body)

        @allure_commons.hookimpl
        def report_globals(self, globals_item: Any) -> None:
            self._write_item(globals_item)

    def flush(self) -> None:
        """Containers whose test wrote no result (an interrupted run) are still written; then every
        file is, before this returns."""
        held, self._held = self._held, {}
        for containers in held.values():
            self._write_item(merged_container(containers))
        self.drain()


def merged_container(containers: list[Any]) -> Any:
    """One container for one test's fixtures: their set-ups and tear-downs in the order they ran."""

    def first(fixture: Any) -> int:
        return fixture.start or 0

    # Containers arrive as their fixtures are torn down, the reverse of set-up order; times are
    # in milliseconds, too coarse to order fixtures alone, so ties keep the arrival order.
    starts = [c.start for c in containers if c.start]
    stops = [c.stop for c in containers if c.stop]
    return TestResultContainer(
        uuid=containers[0].uuid,
        children=list(containers[0].children),
        befores=sorted((b for c in reversed(containers) for b in c.befores), key=first),
        afters=sorted((a for c in containers for a in c.afters), key=first),
        start=min(starts) if starts else None,
        stop=max(stops) if stops else None,
    )


def write_compactly(config: pytest.Config) -> None:
    """Swap allure-pytest's file logger for CompactFileLogger for this pytest process (each xdist
    worker too). Call after allure-pytest's pytest_configure; a no-op without --alluredir."""
    if allure_commons is None:
        return
    original = next((p for p in allure_commons.plugin_manager.get_plugins() if type(p) is AllureFileLogger), None)
    report_dir = config.getoption("allure_report_dir", None)
    if original is None or not report_dir:
        return
    compact = CompactFileLogger(os.path.abspath(report_dir))  # as allure-pytest resolves it
    allure_commons.plugin_manager.unregister(original)
    allure_commons.plugin_manager.register(compact)

    def restore() -> None:
        # Cleanups run last-in first-out: allure-pytest's own, registered before this one,
        # runs next and unregisters the logger it made, so that one must be back in place.
        compact.flush()
        allure_commons.plugin_manager.unregister(compact)
        allure_commons.plugin_manager.register(original)

    config.add_cleanup(restore)


def drain_results() -> None:
    """Every result file this process handed to its writer thread is written when this returns."""
    if allure_commons is None:
        return
    for plugin in allure_commons.plugin_manager.get_plugins():
        if isinstance(plugin, CompactFileLogger):
            plugin.drain()


# -- files beside the results (read by Allure 3's reader) ---------------------------------


def write_environment(results_dir: str | Path, props: dict[str, Any]) -> Path:
    """environment.properties: shown as the report's environment block."""
    path = Path(results_dir) / "environment.properties"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{_prop_key(k)}={_prop_value(v)}" for k, v in props.items() if v is not None]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _prop_key(key: Any) -> str:
    text = _prop_value(key)
    for char in "=: ":
        text = text.replace(char, "\\" + char)
    return text


def _prop_value(value: Any) -> str:
    # Java properties syntax: backslashes and line breaks escaped, secrets masked.
    text = redact_text(str(value))
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def write_executor(results_dir: str | Path, info: dict[str, Any]) -> Path:
    """executor.json: who ran the build. `buildName` should be the run id."""
    path = Path(results_dir) / "executor.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"name": "campaign-preflight", "type": "local", "reportName": "campaign-preflight", **info}
    path.write_text(json.dumps(redact_obj(doc), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
