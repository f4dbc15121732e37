"""A verdict you can trust, under any invocation, interruption or user mistake.

Every run here is a real one, against real sandbox processes: plain `pytest suites` in every
xdist distribution mode; SIGINT and SIGTERM mid-run (and a second one during the clean-up); a
`-x` stop; tokens that are expired, forged, for another handle or short of a scope, and base
URLs that are not the API, all on a *remote* target (tokens minted beforehand, so the harness
cannot use /__sandbox/). The sandbox's own request log and counts prove what was (not) written.
"""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import time

import pytest
from harness_helpers import (
    PreflightProject,
    _env,
    explain,
    journal_events,
    links_of,
    remote_target,
    token_env,
)

from preflight.lifecycle.playbook import STEPS
from preflight.report.build import serve

QUIET = ("-p", "no:hypothesispytest", "-p", "no:schemathesis")
TOTAL = 53
PROBE = "/pf-readiness-probe"  # readiness probes a campaign no run ever creates


def gate(project: PreflightProject) -> dict:
    return json.loads((project.path / "reports" / "gate.json").read_text())


def tell(done: subprocess.CompletedProcess | None, project: PreflightProject) -> str:
    text = (done.stdout + done.stderr) if done is not None else ""
    try:
        doc = gate(project)
        summary = f"\ngate: {doc['verdict']}: {doc['reason']}"
    except (OSError, ValueError):
        summary = "\n(no gate)"
    return summary + "\n--- output (tail) ---\n" + "\n".join(text.splitlines()[-30:])


def campaigns_in_order(results: list[dict]) -> dict[str, list[str]]:
    """campaignId -> the steps of its results in the order they arrived (they arrive as they ran)."""
    out: dict[str, list[str]] = {}
    for result in results:
        out.setdefault(result["campaignId"], []).append(result["step"])
    return out


# -- 1. every xdist invocation keeps each campaign's steps in order ----------------------------

MODES = {
    "load (default)": ("-n", "2"),
    "loadscope": ("-n", "2", "--dist", "loadscope"),
    "loadfile": ("-n", "2", "--dist", "loadfile"),
    "worksteal": ("-n", "2", "--dist", "worksteal"),
    "loadgroup": ("-n", "2", "--dist", "loadgroup"),
    "auto": ("-n", "auto"),
    "four workers": ("-n", "4"),
}


@pytest.mark.parametrize("mode", list(MODES))
def test_every_distribution_mode_runs_a_campaign_in_order_on_one_worker(project, mode):
    done = project.pytest("suites", *QUIET, *MODES[mode])
    doc = gate(project)
    assert (done.returncode, doc["verdict"]) == (0, "PASS"), tell(done, project)
    assert doc["tests"]["ran"] == doc["tests"]["selected"] == TOTAL
    workers = {}
    for result in doc["results"]:
        workers.setdefault(result["campaignId"], set()).add(result["worker"])
    assert all(len(w) == 1 for w in workers.values()), f"a campaign ran on several workers: {workers}"
    for campaign, steps in campaigns_in_order(doc["results"]).items():
        orders = [STEPS[s].order for s in steps]
        assert orders == sorted(orders), f"{campaign} ran out of UC-07 order: {steps}"


def test_dist_each_is_refused_in_one_line(project):
    done = project.pytest("suites", *QUIET, "-n", "2", "--dist", "each")
    assert done.returncode == 4, done.stdout + done.stderr
    assert [line for line in done.stderr.splitlines() if line.strip()] == [
        "ERROR: --dist each runs every test on every worker, so each campaign would be created and tested by all "
        "workers at once; use -n N with the default --dist load"
    ]


# -- 2. an interrupted or partial run is never PASS and never leaves links live -----------------


def start(project: PreflightProject, *args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        args, cwd=project.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or _env()
    )


def wait_for_links(project: PreflightProject, count: int, timeout: float = 60) -> None:
    """Until the run's journal shows `count` links enabled (both campaigns set up)."""
    deadline = time.monotonic() + timeout
    while journal_events(project.path / "reports", "enabled") < count:
        assert time.monotonic() < deadline, "the run never enabled its links"
        time.sleep(0.05)


def wait_until(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the run never got there"
        time.sleep(0.05)


def finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_run_retires_every_link_and_says_error(project, sandbox, signum):
    sandbox.set_faults({"slow_answers": {"delayMs": 60}})  # a run of ~15 s, so the signal lands mid-run
    proc = start(project, sys.executable, "-m", "pytest", "suites", *QUIET, "-n", "2")
    wait_for_links(project, 5)
    wait_until(lambda: sandbox.stats()["testConversions"] >= 1)  # steps 1-3 done: tests have run
    proc.send_signal(signum)  # to the controller only, as `kill` or a CI runner's cancel sends it
    done = finish(proc)
    sandbox.set_faults({})
    doc = gate(project)
    why = tell(done, project)
    assert (done.returncode, doc["verdict"]) == (2, "ERROR"), why
    ran, selected = doc["tests"]["ran"], doc["tests"]["selected"]
    assert selected == TOTAL and 0 < ran < TOTAL, why
    assert doc["reason"] == f"interrupted by {signum.name}: {ran} of {TOTAL} selected tests ran", why
    assert doc["leftovers"] == [] and doc["cleanup"]["retired"] == 5 and not doc["cleanup"].get("skipped"), why
    links = links_of(sandbox, doc["runId"])
    assert len(links) == 5 and not any(links.values()), f"links still enabled after the run: {links}"
    assert "Traceback" not in done.stdout + done.stderr, why
    assert f"verdict: ERROR  (run {doc['runId']}, target attached): interrupted by {signum.name}" in done.stdout, why


def test_preflight_run_cancelled_keeps_the_previous_reports_until_its_own_gate(project, sandbox):
    first = project.run()
    assert first.gate["verdict"] == "PASS", explain(first)
    first_id = first.gate["runId"]
    sandbox.set_faults({"slow_answers": {"delayMs": 60}})
    proc = start(project, sys.executable, "-m", "preflight", "run", "--no-html")
    reports = project.path / "reports"
    # Mid-run (its links enabled, its reports staged aside), before any gate of its own: the previous
    # run's reports are all still there. Events, not a pause: on a loaded machine they only come later.
    wait_for_links(project, 10)  # the first run's 5 and this run's 5
    wait_until(lambda: bool(list(reports.glob(".incoming-*"))) or proc.poll() is not None)
    assert proc.poll() is None, "the run ended before it was cancelled"
    assert list(reports.glob(".incoming-*")), "the run stages no reports of its own"
    assert gate(project)["runId"] == first_id
    proc.send_signal(signal.SIGTERM)
    done = finish(proc)
    sandbox.set_faults({})
    doc = gate(project)
    why = tell(done, project)
    assert (done.returncode, doc["verdict"]) == (2, "ERROR"), why
    assert doc["runId"] != first_id and doc["reason"].startswith("interrupted by SIGTERM: "), why
    assert not any(links_of(sandbox, doc["runId"]).values())
    assert "Traceback" not in done.stdout + done.stderr, why
    assert not list((project.path / "reports").glob(".incoming-*")), "the staging folder was left behind"


def test_a_second_signal_skips_the_cleanup_and_the_command_it_names_finishes_it(project, sandbox):
    # Each answer takes 0.7 s: the clean-up of 5 links takes seconds, and the second SIGINT lands in it.
    sandbox.set_faults({"slow_answers": {"delayMs": 700}})
    proc = start(project, sys.executable, "-m", "pytest", "suites", *QUIET, "-n", "0")
    wait_for_links(project, 5, timeout=120)
    proc.send_signal(signal.SIGINT)
    # The second signal lands in the clean-up: once the first link is retired (each answer takes 0.7 s,
    # so four are still to go), whatever the machine's load.
    wait_until(lambda: journal_events(project.path / "reports", "retired") >= 1, timeout=120)
    proc.send_signal(signal.SIGINT)
    done = finish(proc)
    sandbox.set_faults({})
    doc = gate(project)
    why = tell(done, project)
    assert (done.returncode, doc["verdict"]) == (2, "ERROR"), why
    assert doc["cleanup"]["skipped"] == "stopped by SIGINT during the clean-up", why
    left = {link["slug"] for entry in doc["leftovers"] for link in entry["linksLeftEnabled"]}
    live = {slug for slug, enabled in links_of(sandbox, doc["runId"]).items() if enabled}
    assert left and live <= left, (left, live)
    command = doc["cleanup"]["command"]
    # The config's own target; the program as it is called from the project folder (pasted as printed).
    assert command.endswith(f"preflight cleanup --run-id {doc['runId']} --yes"), command
    assert f"retire them later with: {command}" in done.stdout, why
    summary = (project.path / "reports" / "summary.md").read_text()
    assert "### Left enabled on the platform" in summary and command in summary

    # The command, as printed: it retires what was left (a link whose retiring PUT was cut off by the
    # second signal may be retired already: the journal cannot know, so it is done again), then
    # finds nothing more to do.
    argv = shlex.split(command)
    cleaned = subprocess.run(argv, cwd=project.path, capture_output=True, text=True, env=_env(), timeout=60)
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    assert f"retired {len(left)}, failed 0, {len(left)} write(s) spent" in cleaned.stdout, cleaned.stdout
    assert not any(links_of(sandbox, doc["runId"]).values())
    again = subprocess.run(argv, cwd=project.path, capture_output=True, text=True, env=_env(), timeout=60)
    assert again.returncode == 0 and "nothing to retire" in again.stdout, again.stdout


@pytest.mark.parametrize("workers", ["0", "2"])
def test_a_dash_x_stop_is_an_error_that_still_lists_its_failure(project, sandbox, workers):
    sandbox.set_faults({"test_conversion_rejects_ctx": {}})
    done = project.pytest("suites", *QUIET, "-n", workers, "-x")
    sandbox.set_faults({})
    doc = gate(project)
    why = tell(done, project)
    assert (done.returncode, doc["verdict"]) == (2, "ERROR"), why
    ran = doc["tests"]["ran"]
    assert ran < TOTAL and doc["reason"].endswith(f": {ran} of {TOTAL} selected tests ran"), why
    assert doc["reason"].startswith("stopped: "), why
    failed = [r for r in doc["results"] if r["outcome"] == "failed"]
    assert failed and failed[0]["category"] == "invalid_ctx", why
    assert not any(links_of(sandbox, doc["runId"]).values())


def test_a_selection_is_shown_and_a_check_whose_prerequisites_it_left_out_is_skipped(project):
    done = project.pytest("suites", *QUIET, "-k", "spring-ab and (test_variant_test_conversion or signal)")
    doc = gate(project)
    assert (done.returncode, doc["verdict"]) == (0, "PASS"), tell(done, project)
    assert doc["tests"] == {
        "planned": TOTAL,
        "selected": 3,
        "ran": 3,
        "unfinished": [],
        "stopped": None,
        "selection": "-k 'spring-ab and (test_variant_test_conversion or signal)'",
    }
    alone = project.pytest("suites", *QUIET, "-k", "spring-ab and signal")
    doc = gate(project)
    assert (alone.returncode, doc["verdict"]) == (2, "ERROR"), tell(alone, project)
    (result,) = doc["results"]
    assert result["outcome"] == "skipped" and result["message"] == (
        "needs test_variant_test_conversion of campaign spring-ab, which the selection (-k/-m) left out"
    )
    assert result["skip"] == "by choice"  # the user's selection left out what it builds on: no HOLD
    assert doc["reason"] == "nothing was checked: every selected test was left out by choice"
    summary = (project.path / "reports" / "summary.md").read_text()
    assert "⏭ not checked (by choice)" in summary
    assert "✅" not in summary.split("### Not checked, by choice")[0].split("\n", 2)[2]


# -- 4. the user's own mistakes are ERRORs, with no write and no escalation --------------------


def run_remote(
    project: PreflightProject, sandbox, jwt: str | None, pat: str | None, extra: tuple[str, ...] = (), **target: object
) -> tuple[subprocess.CompletedProcess, list[dict], dict, dict]:
    remote_target(project, sandbox.url, **target)
    before_stats = sandbox.stats()
    before = len(sandbox.requests(10000))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "suites", *QUIET, "-n", "2", "--target", "remote", *extra],
        cwd=project.path,
        capture_output=True,
        text=True,
        timeout=180,
        env=token_env(jwt, pat),
    )
    log = sandbox.requests(10000)[before + 1 :]  # after our own GET /__sandbox/requests
    return done, log, before_stats, sandbox.stats()


def writes(log: list[dict]) -> list[dict]:
    return [e for e in log if e["method"] not in ("GET", "HEAD")]


CREATOR = {"kind": "jwt", "handle": "gharart", "role": "CREATOR"}
ALL_SCOPES = ["analytics.read", "pages.read", "pages.write"]


def mint(sandbox, **body) -> str:
    return sandbox.admin.post("/__sandbox/tokens", json=body).json()["token"]


def forged(token: str) -> str:
    return token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")


MISTAKES = {
    "expired JWT": (
        lambda sb: (mint(sb, **CREATOR, ttlSeconds=1), sb.mint_pat("gharart", ALL_SCOPES)),
        {},
        "auth",
        "JWT: expired ",
    ),
    "forged JWT": (
        lambda sb: (forged(sb.mint_jwt("gharart")), sb.mint_pat("gharart", ALL_SCOPES)),
        {},
        "auth",
        "JWT on handle gharart: refused (401 invalid_token",
    ),
    "JWT of another handle": (
        lambda sb: (sb.mint_jwt("othershop"), sb.mint_pat("gharart", ALL_SCOPES)),
        {},
        "auth",
        "JWT: carries no role on handle gharart (roles on othershop)",
    ),
    "JWT weaker than the target says": (
        lambda sb: (sb.mint_jwt("gharart"), sb.mint_pat("gharart", ALL_SCOPES)),
        {"role": "OWNER"},
        "config",
        "JWT: carries role CREATOR on gharart, but config/targets/remote.yaml says role: OWNER",
    ),
    "PAT without pages.write": (
        lambda sb: (sb.mint_jwt("gharart"), sb.mint_pat("gharart", ALL_SCOPES[:2])),
        {},
        "auth",
        "PAT scope pages.write: refused (403 insufficient_scope",
    ),
    "PAT without analytics.read": (
        lambda sb: (sb.mint_jwt("gharart"), sb.mint_pat("gharart", ALL_SCOPES[1:])),
        {},
        "auth",
        "PAT scope analytics.read: refused (403 insufficient_scope",
    ),
    "PAT of another handle": (
        lambda sb: (sb.mint_jwt("gharart"), sb.mint_pat("othershop", ALL_SCOPES)),
        {},
        "auth",
        "PAT scope analytics.read: refused (403 forbidden",
    ),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_a_token_mistake_is_an_error_before_any_write(project, sandbox, mistake):
    tokens, target, category, line = MISTAKES[mistake]
    jwt, pat = tokens(sandbox)
    time.sleep(1.1 if mistake == "expired JWT" else 0)
    done, log, before, after = run_remote(project, sandbox, jwt, pat, **target)
    doc = gate(project)
    why = tell(done, project)
    assert (done.returncode, doc["verdict"], doc["problemCategory"]) == (2, "ERROR", category), why
    assert doc["problem"].startswith(line), why
    assert doc["results"] == [] and doc["escalations"] == [] and not (project.path / "reports" / "escalations").exists()
    assert f"  {doc['problem'].splitlines()[0]}" in done.stdout.splitlines(), why
    # Nothing but reads reached the platform. The PAT's write scope, which no read proves, is tried
    # (a publish of a campaign that does not exist, writing nothing) only once writes are allowed and
    # every read check passed.
    if mistake == "PAT without pages.write":
        assert [(e["method"], PROBE in e["path"], e["status"]) for e in writes(log)] == [("POST", True, 403)], log
    else:
        assert writes(log) == [], writes(log)
    assert after == before, (before, after)
    assert not [e for e in log if e["path"].startswith("/__sandbox")], "the harness used /__sandbox/ on a remote target"
    assert jwt not in done.stdout + done.stderr + json.dumps(doc) and pat not in done.stdout + done.stderr


def test_a_base_url_that_answers_html_is_a_config_error(project, sandbox, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html><body>Gharart dashboard</body></html>")
    with serve(site) as url:
        done, _, _, _ = run_remote(
            project,
            sandbox,
            sandbox.mint_jwt("gharart"),
            sandbox.mint_pat("gharart", ALL_SCOPES),
            base_url=url.rstrip("/"),
        )
    doc = gate(project)
    assert (done.returncode, doc["verdict"], doc["problemCategory"]) == (2, "ERROR", "config"), tell(done, project)
    assert (
        f"base URL {url.rstrip('/')}: is not the campaign API: GET /v2/system/health answered 404 text/html"
        in doc["problem"]
    ), doc["problem"]


def test_a_base_url_that_does_not_answer_is_a_config_error(project, sandbox):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    done, _, _, _ = run_remote(
        project,
        sandbox,
        sandbox.mint_jwt("gharart"),
        sandbox.mint_pat("gharart", ALL_SCOPES),
        base_url=f"http://127.0.0.1:{port}",
    )
    doc = gate(project)
    assert (done.returncode, doc["problemCategory"]) == (2, "config"), tell(done, project)
    assert doc["problem"].startswith(f"base URL http://127.0.0.1:{port}: does not answer (ConnectError"), doc["problem"]


def test_a_remote_target_with_good_tokens_holds_only_on_the_stale_ctx_without_the_sandbox_routes(project, sandbox):
    """A first run on a real target has no stale ctx yet (one an earlier run kept, once expired): that
    check could not judge, so the verdict is HOLD (exit 3) naming it and what makes it judgeable;
    everything else passed."""
    done, log, _, _ = run_remote(project, sandbox, sandbox.mint_jwt("gharart"), sandbox.mint_pat("gharart", ALL_SCOPES))
    doc = gate(project)
    assert (done.returncode, doc["verdict"]) == (3, "HOLD"), tell(done, project)
    skipped = [r for r in doc["results"] if r["outcome"] == "skipped"]
    assert {r["nodeid"].split("::")[1].split("[")[0] for r in skipped} == {"test_stale_ctx_refused"}
    assert all("no ctx of an earlier run on this target in the journal yet" in r["message"] for r in skipped)
    assert all("run again once a ctx an earlier run kept has expired" in e["fix"] for e in doc["unjudged"])
    assert not [r for r in doc["results"] if r["outcome"] in ("failed", "error")]
    assert not [e for e in log if e["path"].startswith("/__sandbox")]
    # Every target but the run's own sandbox keeps the politeness ceiling, tightened by its headers.
    assert doc["pacing"]["ceilings"] == {"read": 100.0, "write": 100.0, "public": 100.0}, doc["pacing"]


def test_a_real_target_gets_its_stale_ctx_from_an_earlier_run(project, sandbox):
    """No platform publishes its ctx TTL: a run keeps one ctx per campaign in its journal, and a later
    run on the same target, once the platform's clock is past that ctx's expiry, sends it as the stale
    ctx instead of skipping the check. Refused: PASS; accepted: FAIL."""
    select = ("-k", "spring-ab and (checks_present or stale)")
    first, _, _, _ = run_remote(project, sandbox, sandbox.mint_jwt("gharart"), sandbox.mint_pat("gharart", ALL_SCOPES))
    assert gate(project)["verdict"] == "HOLD", tell(first, project)  # its stale ctx: none kept yet
    sandbox.advance_clock(1800 + 120)  # past the ctx TTL (and its margin), by the platform's clock
    jwt, pat = sandbox.mint_jwt("gharart"), sandbox.mint_pat("gharart", ALL_SCOPES)
    again, _, _, _ = run_remote(project, sandbox, jwt, pat, extra=select)
    doc = gate(project)
    (stale,) = [r for r in doc["results"] if "test_stale_ctx_refused" in r["nodeid"]]
    assert (doc["verdict"], stale["outcome"]) == ("PASS", "passed"), tell(again, project)
    sandbox.set_faults({"stale_ctx_accepted": {}})
    broken, _, _, _ = run_remote(project, sandbox, jwt, pat, extra=select)
    sandbox.set_faults({})
    doc = gate(project)
    (stale,) = [r for r in doc["results"] if "test_stale_ctx_refused" in r["nodeid"]]
    assert (doc["verdict"], stale["category"]) == ("FAIL", "stale_ctx_accepted"), tell(broken, project)


def test_a_token_that_expires_mid_run_stops_it_as_an_auth_error(project, sandbox):
    """Not the platform's fault: ERROR, nothing escalated, the links it could not retire listed
    with the cleanup command, which works once a new token is exported. The JWT expires once the
    run's tests have begun writing (the sandbox clock moves past its exp): an event, not a few
    seconds of start-up raced on a loaded machine."""
    sandbox.set_faults({"slow_answers": {"delayMs": 60}})
    # Valid for 10 minutes; once the run has set both campaigns up, the platform's clock moves past
    # that (and not past a ctx's 30): the token expires mid-run, whatever the machine's speed.
    jwt = mint(sandbox, **CREATOR, ttlSeconds=600)
    pat = sandbox.mint_pat("gharart", ALL_SCOPES)
    remote_target(project, sandbox.url)
    proc = start(
        project,
        sys.executable,
        "-m",
        "pytest",
        "suites",
        *QUIET,
        "-n",
        "2",
        "--target",
        "remote",
        env=token_env(jwt, pat),
    )
    wait_for_links(project, 5)
    sandbox.advance_clock(601)
    done = finish(proc)
    sandbox.set_faults({})
    doc = gate(project)
    why = tell(done, project)
    assert (done.returncode, doc["verdict"]) == (2, "ERROR"), why
    auth = [r for r in doc["results"] if r["category"] == "auth"]
    assert auth and doc["escalations"] == [], why
    assert "token_expired" in auth[0]["message"] and "mint a new token" in auth[0]["message"], auth[0]["message"]
    assert doc["tests"]["ran"] < TOTAL and "failed with auth" in doc["tests"]["stopped"], why
    assert doc["leftovers"] and f"preflight cleanup --run-id {doc['runId']}" in doc["cleanup"]["command"]
    fresh = token_env(sandbox.mint_jwt("gharart"), pat)
    argv = shlex.split(doc["cleanup"]["command"])
    cleaned = subprocess.run(argv, cwd=project.path, capture_output=True, text=True, env=fresh, timeout=60)
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    assert not any(links_of(sandbox, doc["runId"]).values())


def test_a_rerun_of_what_failed_runs_only_that(project, sandbox):
    """pytest's cache is kept (reports/.pytest_cache): `pytest suites --lf` after a FAIL reruns the
    failed tests alone, on a fresh throwaway campaign, and says so in the gate's selection."""
    sandbox.set_faults({"redirect_swapped": {}})
    failed = project.pytest("suites", *QUIET)
    sandbox.set_faults({})
    doc = gate(project)
    bad = sorted(r["nodeid"] for r in doc["results"] if r["outcome"] == "failed")
    assert doc["verdict"] == "FAIL" and bad, tell(failed, project)
    again = project.pytest("suites", *QUIET, "--lf")
    doc = gate(project)
    assert (again.returncode, doc["verdict"]) == (0, "PASS"), tell(again, project)
    assert sorted(r["nodeid"] for r in doc["results"]) == bad, tell(again, project)
    assert (project.path / "reports" / ".pytest_cache").is_dir()
