"""The shards of one run (`--shard I/N`, one CI job each) joined into one run's outputs.

Each shard's reports folder holds its gate.json, summary.md, junit.xml, allure-results/ and
escalations/. The merge writes the same files for the whole run (so `preflight gate` reads the
merged folder as it reads a single run's): one verdict, one summary, one JUnit file, one
Allure results folder and, from it, one HTML report.

The verdict: ERROR when a shard is missing (N comes from the shards' own gates, or --expect),
given twice, ERROR itself, or when the shards do not add up to the config (a campaign on no
shard or on two, different configs or targets); else the verdict of all the shards' results
together, as one run would judge them (any failure: FAIL; else PASS).
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preflight.config.notify import NotifySettings
from preflight.core.clock import now_iso
from preflight.report import escalation, finisher, landing
from preflight.report.facts import NO_CLICK_NOTE, RunFacts
from preflight.report.shards import ShardRun, check, read

SHARD_SELECTION = re.compile(r"\s*--shard \S+")
UNESCAPED_EQUALS = re.compile(r"(?<!\\)=")
# Files every shard writes into its allure-results under the same name: the merge writes its own.
ALLURE_RUN_FILES = ("environment.properties", "executor.json")


@dataclass
class Merged:
    gate: dict[str, Any]
    problems: list[str] = field(default_factory=list)


# -- the merged gate ---------------------------------------------------------------------------


@dataclass
class Telling:
    """Who hears the merged verdict (the run YAML's `notify:`), and where the merged reports end up."""

    settings: NotifySettings
    shown_at: Path | None = None  # the --out folder (the merge stages its outputs)
    html: str | None = None  # the HTML report the merge builds after this


def merge(
    folders: list[str | Path],
    out: str | Path,
    *,
    expect: int | None = None,
    history_dir: str | Path | None = None,
    telling: Telling | None = None,
) -> Merged:
    """Join the shards' gates, JUnit files, Allure results and escalations into `out`, and finish
    them as one run (report.finisher: the gate, summary, landing page, message and run history, as a
    single run's are written). `history_dir` keeps one line per merged run, as a run's history/ does;
    `telling`: the run's message is sent from here, never from a shard."""
    out = Path(out)
    runs = [read(folder) for folder in folders]
    total, problems = check(runs, expect)
    good = sorted((run for run in runs if not run.problem), key=lambda run: run.shard.get("index") or 0)
    problems += [
        f"{run.label} is ERROR: {run.gate.get('reason')}" for run in good if run.gate.get("verdict") == "ERROR"
    ]
    out.mkdir(parents=True, exist_ok=True)
    renamed = _escalations(good, out)
    results = [_moved(result, run, renamed) for run in good for result in run.gate.get("results") or []]
    facts = _facts(good, runs, total, problems, renamed)
    target = _common(run.gate.get("target") for run in good)
    run_id = _common(run.gate.get("runId") for run in good)
    ending = finisher.Ending(
        out=out,
        run_id=run_id,
        target=target,
        started_at=min((run.gate["startedAt"] for run in good if run.gate.get("startedAt")), default=now_iso()),
        finished_at=max((run.gate["finishedAt"] for run in good if run.gate.get("finishedAt")), default=now_iso()),
        history=finisher.history_file(Path(history_dir) if history_dir else out / "history", target, facts.mode),
        browser_use=_landing(good, out),
        alluredir=out / "allure-results",
    )
    if telling is not None:
        ending.notify, ending.shown_at, ending.html_planned = telling.settings, telling.shown_at, telling.html
    ending.environment, ending.executor = merge_allure(good, ending.alluredir, run_id=run_id)
    merge_junit([run.folder / "junit.xml" for run in good], out / "junit.xml", labels=[run.label for run in good])
    return Merged(finisher.finish(ending, results, facts), problems)


def _landing(good: list[ShardRun], out: Path) -> str | None:
    """The shards' landing screenshots in one folder (each campaign ran on one shard), and how their
    browser was asked for (None: no shard has a browser block)."""
    blocks = [run.gate["browser"] for run in good if run.gate.get("browser")]
    if not blocks:
        return None
    folder = out / landing.FOLDER
    for run in good:
        if (run.folder / landing.FOLDER).is_dir():
            ignore = shutil.ignore_patterns(landing.OVERVIEW)
            shutil.copytree(run.folder / landing.FOLDER, folder, dirs_exist_ok=True, ignore=ignore)
    uses = {block.get("use") for block in blocks}
    return uses.pop() if len(uses) == 1 else "auto"


def set_report_path(out: Path, report: str | None) -> dict[str, Any]:
    """Name the built HTML report in the gate and the summary (or that none was built)."""
    path = out / "gate.json"
    gate = json.loads(path.read_text(encoding="utf-8"))
    gate["reportPath"] = report
    path.write_text(json.dumps(gate, indent=2) + "\n", encoding="utf-8")
    summary = out / "summary.md"
    if report and summary.is_file():
        summary.write_text(
            summary.read_text(encoding="utf-8").replace("Report: not built", f"Report: `{report}`"), encoding="utf-8"
        )
    return gate


def _facts(
    good: list[ShardRun],
    runs: list[ShardRun],
    total: int | None,
    problems: list[str],
    renamed: dict[tuple[str, str], str],
) -> RunFacts:
    tests = [run.gate.get("tests") or {} for run in good]
    planned = {t.get("planned") for t in tests if t.get("planned") is not None}
    selections = {SHARD_SELECTION.sub("", t.get("selection") or "").strip() for t in tests}
    selection = " ".join(sorted(s for s in selections if s))
    selected = [t.get("selected") for t in tests]
    stopped = [f"{run.label}: {t['stopped']}" for run, t in zip(good, tests, strict=True) if t.get("stopped")]
    modes = {run.gate.get("mode") or "lifecycle" for run in good}
    if len(modes) > 1:
        problems = [*problems, f"the shards mix an audit and a lifecycle run ({', '.join(sorted(modes))})"]
    audit = next((run.gate.get("audit") for run in good if run.gate.get("audit")), None)
    return RunFacts(
        mode=modes.pop() if len(modes) == 1 else "lifecycle",
        audit=audit,
        notes=[] if not audit or audit.get("click") else [NO_CLICK_NOTE],
        planned=planned.pop() if len(planned) == 1 else None,
        selected=sum(selected) if selected and None not in selected else None,
        selection=f"--shard */{total}" + (f" {selection}" if selection else "") if total else selection or None,
        stopped="; ".join(stopped) or None,
        unfinished=[nodeid for t in tests for nodeid in t.get("unfinished") or []],
        escalations=list(_merged_escalations(good, renamed).values()),
        leftovers=[entry for run in good for entry in run.gate.get("leftovers") or []],
        cleanup=_cleanup(good),
        write_plan=_write_plan(good),
        shards=_shard_rows(runs, total),
        shards_problem=_one_line(problems),
    )


def _one_line(problems: list[str]) -> str | None:
    if not problems:
        return None
    return f"the shards do not make a whole run: {'; '.join(problems)}"


def _shard_rows(runs: list[ShardRun], total: int | None) -> list[dict[str, Any]]:
    rows = []
    for run in runs:
        gate, shard = run.gate or {}, run.shard
        rows.append(
            {
                "index": shard.get("index"),
                "total": shard.get("total") or total,
                "dir": str(run.folder),
                "runId": gate.get("runId"),
                "verdict": gate.get("verdict") if not run.problem else None,
                "reason": run.problem or gate.get("reason"),
                "campaigns": shard.get("campaigns"),
                "ran": (gate.get("tests") or {}).get("ran"),
            }
        )
    came = {row["index"] for row in rows}
    rows += [
        {
            "index": index,
            "total": total,
            "dir": None,
            "runId": None,
            "verdict": None,
            "reason": "missing",
            "campaigns": None,
            "ran": None,
        }
        for index in range(1, (total or 0) + 1)
        if index not in came
    ]
    return sorted(rows, key=lambda row: (row["index"] or 0, row["dir"] or ""))


def _common(values: Any) -> Any:
    found = list(dict.fromkeys(values))
    return found[0] if len(found) == 1 else ", ".join(map(str, found)) or None


def _moved(result: dict[str, Any], run: ShardRun, renamed: dict[tuple[str, str], str]) -> dict[str, Any]:
    moved = dict(result)
    if moved.get("escalation"):
        moved["escalation"] = renamed.get((str(run.folder), moved["escalation"]), moved["escalation"])
    return moved


def _cleanup(good: list[ShardRun]) -> dict[str, Any]:
    parts = [(run, run.gate.get("cleanup") or {}) for run in good]
    out: dict[str, Any] = {key: sum(int(c.get(key) or 0) for _, c in parts) for key in ("retired", "failed", "writes")}
    errors = [e for _, c in parts for e in c.get("errors") or []]
    if errors:
        out["errors"] = errors
    for key, joiner in (("skipped", "; "), ("note", "; ")):
        found = list(
            dict.fromkeys(f"{run.label}: {c[key]}" if key == "skipped" else c[key] for run, c in parts if c.get(key))
        )
        if found:
            out[key] = joiner.join(found)
    commands = list(dict.fromkeys(c["command"] for _, c in parts if c.get("command")))
    if commands:
        out["command"] = " && ".join(commands)
    return out


def _write_plan(good: list[ShardRun]) -> dict[str, Any] | None:
    plans = [(run, run.gate.get("writePlan")) for run in good if run.gate.get("writePlan")]
    if not plans:
        return None
    by_campaign: dict[str, int] = {}
    for _, plan in plans:
        for stem, writes in (plan.get("byCampaign") or {}).items():
            by_campaign[stem] = by_campaign.get(stem, 0) + writes
    # Each shard read the quota when it started: its own figure, not the whole run's.
    return {
        "writesTotal": sum(plan.get("writesTotal") or 0 for _, plan in plans),
        "writesLeft": None,
        "byCampaign": by_campaign,
        "lines": [line for _, plan in plans for line in plan.get("lines") or []],
        "split": [batch for _, plan in plans for batch in plan.get("split") or []],
        "byShard": {
            str(run.shard.get("index")): {"writesTotal": plan.get("writesTotal"), "writesLeft": plan.get("writesLeft")}
            for run, plan in plans
        },
    }


# -- escalations: one payload per root cause, as one run writes them ------------------------------


def _escalations(good: list[ShardRun], out: Path) -> dict[tuple[str, str], str]:
    """Write one payload per root cause into out/escalations (a root cause seen on several shards
    is one payload listing every test); answers (shard run, its file) -> the merged file."""
    folder = out / "escalations"
    shutil.rmtree(folder, ignore_errors=True)
    payloads: dict[str, dict[str, Any]] = {}
    renamed: dict[tuple[str, str], str] = {}
    for run in good:
        for entry in run.gate.get("escalations") or []:
            source = _shard_file(run, entry.get("file"))
            try:
                payload = json.loads(source.read_text(encoding="utf-8")) if source else None
            except (OSError, ValueError):
                payload = None
            if payload is not None:
                payloads[entry["id"]] = _join_payloads(payloads.get(entry["id"]), payload)
                renamed[(str(run.folder), entry.get("file"))] = str(folder / f"{entry['id']}.json")
    for gid, entry in _merged_escalations(good, renamed).items():
        if gid in payloads and entry.get("seenBy"):
            payloads[gid]["summary"] = escalation.summary_line(
                entry["category"],
                entry.get("step") or "?",
                entry["cause"],
                entry["seenBy"],
                entry.get("campaigns") or [],
            )
    for gid, payload in payloads.items():
        escalation.write_payload(payload, out, gid)
    return renamed


def _shard_file(run: ShardRun, path: str | None) -> Path | None:
    """A path a shard's gate names, found in the shard's folder as it was downloaded."""
    if not path:
        return None
    name = Path(path).name
    local = run.folder / "escalations" / name
    return local if local.is_file() else Path(path) if Path(path).is_file() else None


def _join_payloads(first: dict[str, Any] | None, more: dict[str, Any]) -> dict[str, Any]:
    """One root cause's payload from two shards: every affected test and request id (its summary is
    made again from the merged gate entries' facts, `_summaries`)."""
    if first is None:
        return more
    joined = copy.deepcopy(first)
    repro, other = joined.setdefault("reproArtifact", {}), more.get("reproArtifact") or {}
    repro["affected"] = (repro.get("affected") or []) + (other.get("affected") or [])
    repro["requestIds"] = list(dict.fromkeys((repro.get("requestIds") or []) + (other.get("requestIds") or [])))
    also = [
        f"- {item.get('test')}: request ids {', '.join(item.get('requestIds') or []) or 'none'}"
        for item in other.get("affected") or []
    ]
    joined["details"] = (
        f"{joined.get('details', '')}\nAlso seen on another shard of the run ({more.get('runId')}):\n" + "\n".join(also)
    )
    return joined


def _merged_escalations(good: list[ShardRun], renamed: dict[tuple[str, str], str]) -> dict[str, dict[str, Any]]:
    """The shards' gate entries of each root cause (by its id: category and cause), as one."""
    merged: dict[str, dict[str, Any]] = {}
    for run in good:
        for entry in run.gate.get("escalations") or []:
            current = merged.get(entry["id"])
            if current is None:
                moved = renamed.get((str(run.folder), entry.get("file")), entry.get("file"))
                merged[entry["id"]] = {**entry, "file": moved}
                continue
            for key in ("tests", "requestIds"):
                current[key] = list(dict.fromkeys((current.get(key) or []) + (entry.get(key) or [])))
            for key in ("campaigns", "slugs"):
                current[key] = sorted(set(current.get(key) or []) | set(entry.get(key) or []))
            current["seenBy"] = (current.get("seenBy") or 0) + (entry.get("seenBy") or 0)
            current["ticketId"] = current.get("ticketId") or entry.get("ticketId")
            errors = [e for e in (current.get("sendError"), entry.get("sendError")) if e]
            current["sendError"] = "; ".join(dict.fromkeys(errors)) or None
    return merged


# -- JUnit and Allure ----------------------------------------------------------------------------


def merge_junit(files: list[Path], dest: Path, *, labels: list[str]) -> Path | None:
    """One <testsuites> holding each shard's <testsuite> (named after its shard), totals on top."""
    suites = []
    for path, label in zip(files, labels, strict=True):
        if not path.is_file():
            continue
        root = ET.parse(path).getroot()
        for suite in [root] if root.tag == "testsuite" else root.findall("testsuite"):
            suite.set("name", f"{suite.get('name', 'pytest')} ({label})")
            suites.append(suite)
    if not suites:
        return None
    top = ET.Element("testsuites", {"name": "campaign-preflight"})
    for key in ("tests", "failures", "errors", "skipped"):
        top.set(key, str(sum(int(suite.get(key) or 0) for suite in suites)))
    top.set("time", f"{sum(float(suite.get('time') or 0) for suite in suites):.3f}")
    top.extend(suites)
    ET.ElementTree(top).write(dest, encoding="utf-8", xml_declaration=True)
    return dest


def merge_allure(good: list[ShardRun], dest: Path, *, run_id: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every shard's results, attachments and containers in one folder (their names are uuids);
    answers the environment block and executor of the whole run, which the finisher writes."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    environments: list[dict[str, str]] = []
    for run in good:
        folder = run.folder / "allure-results"
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if path.name == "environment.properties":
                environments.append(_properties(path))
            elif path.is_file() and path.name not in ALLURE_RUN_FILES:
                shutil.copy2(path, dest / path.name)
    environment: dict[str, Any] = {}
    if environments:
        # What every shard shares (target, handle, plan…), then the run's ids; a per-shard value
        # (each embedded sandbox's own base URL) is left out.
        props = {
            key: value
            for key, value in environments[0].items()
            if all(env.get(key) == value for env in environments) and key != "run_id"
        }
        environment = {**props, "run_id": run_id, "shards": len(good)}
    executor = {
        "type": "campaign-preflight",
        "buildName": run_id,
        "reportName": f"preflight {run_id} ({len(good)} shard(s) merged)",
    }
    return environment, executor


def _properties(path: Path) -> dict[str, str]:
    """A Java properties file as allure.write_environment writes it (key=value, backslash escapes)."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = UNESCAPED_EQUALS.split(line, maxsplit=1)
        if len(parts) == 2:
            out[_unescape(parts[0])] = _unescape(parts[1])
    return out


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), text)
