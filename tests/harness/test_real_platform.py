"""First contact with the real platform, rehearsed on a sandbox started as its own process and
used as a *remote* target: tokens minted beforehand and passed as $PREFLIGHT_JWT/$PREFLIGHT_PAT,
so nothing but the platform's own routes is used. Covers the doctor (GET only, each FAIL), the
write plan (equal to the quota the run really spends: whole config, one campaign, a rerun), the
split it proposes, the refusal without --allow-writes, cleanup from the journal and from the
handle's list, the drift check (none, then through a proxy that renames a field), and every
command of the README's "Run against the real platform", run as written.
"""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml
from harness_helpers import PreflightProject, links_of, make_project, remote_target, token_env

ROOT = Path(__file__).resolve().parents[2]
SCOPES = ["analytics.read", "pages.read", "pages.write"]
QUIET = ("-p", "no:hypothesispytest", "-p", "no:schemathesis")


class Remote:
    """A project whose `remote` target is the sandbox, and the tokens minted for it."""

    def __init__(self, project: PreflightProject, sandbox, **target) -> None:
        self.project, self.sandbox = project, sandbox
        remote_target(project, sandbox.url, **target)
        self.jwt = sandbox.admin.post(
            "/__sandbox/tokens", json={"kind": "jwt", "handle": "gharart", "role": "CREATOR", "ttlSeconds": 7200}
        ).json()["token"]
        self.pat = sandbox.mint_pat("gharart", SCOPES)

    def preflight(self, *args: str, jwt: str | None = None, pat: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "preflight", *args],
            cwd=self.project.path,
            capture_output=True,
            text=True,
            timeout=300,
            env=token_env(jwt or self.jwt, pat or self.pat),
        )

    def meters(self) -> dict:
        return self.sandbox.admin.get(
            "/v2/handles/gharart/usage-meters", headers={"authorization": f"Bearer {self.jwt}"}
        ).json()

    def writes_spent(self, *args: str, jwt: str | None = None) -> tuple[int, subprocess.CompletedProcess]:
        before = self.meters()["writesToday"]
        done = self.preflight(*args, jwt=jwt)
        return self.meters()["writesToday"] - before, done


@pytest.fixture
def remote(project, sandbox) -> Remote:
    return Remote(project, sandbox)


def gate(project: PreflightProject) -> dict:
    return json.loads((project.path / "reports" / "gate.json").read_text())


def say(done: subprocess.CompletedProcess) -> str:
    return f"\n--- exit {done.returncode} ---\n{done.stdout[-3000:]}\n--- stderr ---\n{done.stderr[-1500:]}"


def rows(done: subprocess.CompletedProcess) -> dict[str, str]:
    """The doctor's rows: item -> the whole line (status first)."""
    out = {}
    for line in done.stdout.splitlines():
        match = re.match(r"^(PASS|FAIL|UNKNOWN)\s+(.+?)\s{2,}", line)
        if match:
            out[match.group(2)] = line
    return out


# -- the doctor --------------------------------------------------------------------------------


def test_the_doctor_passes_on_a_ready_target_and_makes_only_get_requests(remote, sandbox):
    sandbox.set_plan("gharart", "ENTERPRISE")
    ready = remote.preflight("run", "--target", "remote", "--no-html", "--", "-k", "spring-ab and checks_present")
    assert ready.returncode == 0, say(ready)  # a campaign on the handle, to prove the PAT's read scopes on
    before = len(sandbox.requests(10000))
    done = remote.preflight("doctor", "--target", "remote", "--contract")
    log = sandbox.requests(10000)[before + 1 :]
    assert done.returncode == 0, say(done)
    found = rows(done)
    for item in (
        "JWT",
        "JWT on handle gharart",
        "PAT scope analytics.read",
        "request-id header",
        "clock",
        "write quota",
        "leftovers of earlier runs",
        "contract drift",
    ):
        assert found[item].startswith("PASS"), found.get(item, f"no row {item}") + say(done)
    assert re.search(
        r"JWT\s+role CREATOR on gharart, expires \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in \d+ min\)", found["JWT"]
    ), found["JWT"]
    assert found["PAT scope pages.write"].startswith("UNKNOWN"), found["PAT scope pages.write"]
    # Proven on a campaign the handle has: accepted. Its page was never published, so the page read's
    # 404 proves only that the scope was not refused, and says so.
    assert "accepted (GET /v2/public/handles/gharart/campaigns/" in found["PAT scope analytics.read"]
    assert found["PAT scope pages.read"].startswith("UNKNOWN") and "not refused" in found["PAT scope pages.read"]
    assert {e["method"] for e in log} == {"GET"}, sorted(
        {(e["method"], e["path"]) for e in log if e["method"] != "GET"}
    )
    assert not [e for e in log if e["path"].startswith("/__sandbox")]
    drift = json.loads((remote.project.path / "reports" / "contract-drift.json").read_text())
    assert drift["routes"] and all(not route["problems"] for route in drift["routes"]), drift


def test_the_click_template_is_tried_without_recording_a_click(remote, sandbox):
    run = remote.preflight("run", "--target", "remote", "--no-html", "--", "-k", "spring-ab and checks_present")
    assert run.returncode == 0, say(run)
    # A campaign of an earlier run is live again (re-enabled by hand, as an operator might): try its link.
    doc = gate(remote.project)
    spring = next(r["campaignId"] for r in doc["results"])
    slug = next(iter(links_of(sandbox, doc["runId"])))
    body = sandbox.admin.get(
        f"/v2/handles/gharart/links/{slug}", headers={"authorization": f"Bearer {remote.jwt}"}
    ).json()
    sandbox.admin.put(
        f"/v2/handles/gharart/links/{slug}",
        headers={"authorization": f"Bearer {remote.jwt}"},
        json={k: body[k] for k in ("destinationUrl", "tracking", "campaignId")} | {"enabled": True},
    )
    clicks = sandbox.stats()["clicks"]
    done = remote.preflight("doctor", "--target", "remote")
    row = rows(done)["click URL template"]
    assert row.startswith("PASS") and "-> 302 to its destination" in row, row + say(done)
    assert sandbox.stats()["clicks"] == clicks, "the doctor's click was recorded"
    assert rows(done)["leftovers of earlier runs"].startswith("FAIL"), say(done)
    assert (
        f"{spring}: {slug}" in done.stdout and "cleanup --target remote --all --yes" in done.stdout
    )  # the doctor's fix keeps the target


@pytest.mark.parametrize("case", ["expired JWT", "PAT without analytics.read", "FREE plan", "HTML base URL"])
def test_each_doctor_fail_says_what_to_do(remote, sandbox, case, tmp_path):
    from preflight.report.build import serve

    jwt, pat, where = None, None, "remote"
    if case == "expired JWT":
        jwt = sandbox.admin.post(
            "/__sandbox/tokens", json={"kind": "jwt", "handle": "gharart", "role": "CREATOR", "ttlSeconds": 1}
        ).json()["token"]
        import time

        time.sleep(1.1)
    elif case == "PAT without analytics.read":
        pat = sandbox.mint_pat("gharart", SCOPES[1:])
    elif case == "FREE plan":
        sandbox.set_plan("gharart", "FREE")
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html>the dashboard</html>")
    with serve(site) as url:
        if case == "HTML base URL":
            remote_target(remote.project, url.rstrip("/"))
        done = remote.preflight("doctor", "--target", where, jwt=jwt, pat=pat)
    sandbox.set_plan("gharart", "ENTERPRISE")
    assert done.returncode == 2, say(done)
    found = rows(done)
    expected = {
        "expired JWT": ("JWT", "expired", "fix: mint a new JWT and export PREFLIGHT_JWT"),
        "PAT without analytics.read": (
            "PAT scope analytics.read",
            "refused (403 insufficient_scope",
            "fix: give the PAT the required scope (analytics.read)",
        ),
        "FREE plan": ("write quota", "plan FREE: 2 of 2 writes left", "fix: split it: "),
        "HTML base URL": (
            f"base URL {url.rstrip('/')}",
            "is not the campaign API",
            "fix: set base_url in config/targets/remote.yaml to the campaign API",
        ),
    }[case]
    item, detail, fix = expected
    assert found[item].startswith("FAIL") and detail in found[item], found.get(item, "no such row") + say(done)
    assert fix in done.stdout, say(done)
    assert done.stdout.rstrip().endswith("problem(s) above"), say(done)


# -- the write plan ------------------------------------------------------------------------------


def plan_json(remote: Remote, *args: str) -> dict:
    done = remote.preflight("plan", "--target", "remote", "--json", *args)
    assert done.returncode in (0, 2), say(done)
    return json.loads(done.stdout)


def verdict(doc: dict) -> str:
    """A remote run's verdict, PASS standing for a first run's HOLD when all it could not judge is the
    stale-ctx refusal: on a real target the stale ctx is one an earlier run kept, once it expired, so a
    first run (or one within the ctx lifetime of the last) cannot judge it."""
    held = {entry["test"].split("::")[-1].split("[")[0] for entry in doc.get("unjudged") or []}
    return "PASS" if doc["verdict"] == "HOLD" and held == {"test_stale_ctx_refused"} else doc["verdict"]


def test_the_plan_is_exactly_what_the_run_spends_whole_one_campaign_and_a_rerun(remote, sandbox):
    sandbox.set_plan("gharart", "ENTERPRISE")
    whole = plan_json(remote)
    assert (whole["writesTotal"], whole["byCampaign"]) == (17, {"spring-ab": 7, "diwali-sale": 10}), whole
    spent, run = remote.writes_spent("run", "--target", "remote", "--no-html", "--run-id", "plan-whole")
    assert verdict(gate(remote.project)) == "PASS", say(run)
    assert spent == whole["writesTotal"] == gate(remote.project)["writePlan"]["writesTotal"]

    one = plan_json(remote, "--", "-k", "diwali-sale")
    assert one["writesTotal"] == 12, one  # 10, and spring-ab's campaign and primary link lent for the foreign ctx
    spent, run = remote.writes_spent(
        "run", "--target", "remote", "--no-html", "--run-id", "plan-one", "--", "-k", "diwali-sale"
    )
    assert (verdict(gate(remote.project)), spent) == ("PASS", one["writesTotal"]), say(run)

    again = plan_json(remote, "--run-id", "plan-whole")
    creates = [line for line in again["lines"] if line["what"].startswith("create")]
    # No create (adopted with reads); every link the first run retired is enabled again instead.
    enables = {line["campaign"]: line["what"] for line in again["lines"] if line["what"].startswith("enable")}
    assert creates == [] and enables == {
        "spring-ab": "enable link(s) spring-a, spring-b",
        "diwali-sale": "enable link(s) diwali-a, diwali-b, diwali-c",
    }, again
    assert again["writesTotal"] == 17, again
    stats = sandbox.stats()
    spent, run = remote.writes_spent("run", "--target", "remote", "--no-html", "--run-id", "plan-whole")
    assert (verdict(gate(remote.project)), spent) == ("PASS", again["writesTotal"]), say(run)
    after = sandbox.stats()
    assert {k: after[k] - stats[k] for k in ("campaigns", "links", "leads", "deployments")} == {
        "campaigns": 0,
        "links": 0,
        "leads": 0,
        "deployments": 0,
    }, (stats, after)


def test_a_plan_that_does_not_fit_stops_the_run_and_its_split_runs_as_planned(remote, sandbox):
    sandbox.set_plan("gharart", "PRO")
    plan = plan_json(remote)
    assert not plan["fits"] and plan["writesLeft"] == 10, plan
    assert [(b["campaigns"], b["writes"], b["select"]) for b in plan["split"]] == [
        (["spring-ab"], 9, "-k 'spring-ab'"),
        (["diwali-sale"], 9, "-k 'diwali-sale and not foreign_ctx'"),
    ], plan
    text = remote.preflight("plan", "--target", "remote")
    assert text.returncode == 2 and "it does not fit" in text.stdout, say(text)
    # the split as printed keeps the run's target and its --allow-writes: pasted, it runs where planned
    assert "preflight run --target remote --allow-writes -- -k 'spring-ab'" in text.stdout, say(text)

    before = sandbox.stats()
    spent, run = remote.writes_spent("run", "--target", "remote", "--no-html")
    doc = gate(remote.project)
    assert (run.returncode, doc["verdict"], doc["problemCategory"], spent) == (2, "ERROR", "quota", 0), say(run)
    assert "A split that fits:" in doc["problem"] and sandbox.stats() == before
    # The split, batch by batch, one day each: each spends what the plan said.
    for batch in plan["split"]:
        selection = batch["select"].removeprefix("-k ").strip("'")
        spent, run = remote.writes_spent("run", "--target", "remote", "--no-html", "--", "-k", selection)
        assert (verdict(gate(remote.project)), spent) == ("PASS", batch["writes"]), say(run)
        sandbox.advance_clock(24 * 3600)
        remote.jwt = sandbox.admin.post(
            "/__sandbox/tokens", json={"kind": "jwt", "handle": "gharart", "role": "CREATOR", "ttlSeconds": 7200}
        ).json()["token"]
    sandbox.set_plan("gharart", "ENTERPRISE")


def test_no_write_without_allow_writes(project, sandbox):
    remote = Remote(project, sandbox, allow_writes=False)
    before = sandbox.stats()
    done = remote.preflight("run", "--target", "remote", "--no-html")
    doc = gate(project)
    assert (done.returncode, doc["verdict"], doc["problemCategory"]) == (2, "ERROR", "config"), say(done)
    assert doc["problem"] == (
        "target remote takes no write without --allow-writes: this run would spend 17 quota-counted write(s) (2 "
        "throwaway campaign(s) created, see `preflight plan`) and post public test leads and conversions; nothing "
        "was written. Pass --allow-writes, or set allow_writes: true in config/targets/remote.yaml"
    ), doc["problem"]
    assert sandbox.stats() == before
    allowed = remote.preflight("run", "--target", "remote", "--no-html", "--allow-writes")
    assert verdict(gate(project)) == "PASS", say(allowed)


# -- cleanup: from the journal, and from the handle's list ----------------------------------------


def test_cleanup_all_finds_what_no_local_journal_knows(remote, sandbox, tmp_path):
    # A run elsewhere (another copy of the project: its own journal) left links enabled: the
    # second copy's cleanup finds them on the handle.
    elsewhere = make_project(tmp_path / "elsewhere")
    other = Remote(elsewhere, sandbox)
    cid = "pf-elsewhere-1-spring-ab"
    headers = {"authorization": f"Bearer {other.jwt}"}
    sandbox.admin.post(
        "/v2/handles/gharart/campaigns",
        headers=headers,
        json={
            "campaignId": cid,
            "goalType": "LEAD_CAPTURE",
            "status": "ACTIVE",
            "name": "left behind",
            "primaryLink": {"slug": "left-a-000001", "destinationUrl": "https://gharart.example/a", "enabled": True},
        },
    )
    sandbox.admin.put(
        "/v2/handles/gharart/links/left-b-000001",
        headers=headers,
        json={"destinationUrl": "https://gharart.example/b", "enabled": True, "campaignId": cid},
    )
    shown = remote.preflight("cleanup", "--target", "remote", "--all")
    assert shown.returncode == 0 and "2 link(s) may still be enabled" in shown.stdout, say(shown)
    assert "nothing done; add --yes to retire them" in shown.stdout
    done = remote.preflight("cleanup", "--target", "remote", "--all", "--yes")
    assert done.returncode == 0 and "retired 2, failed 0, 2 write(s) spent" in done.stdout, say(done)
    assert links_of(sandbox, "elsewhere-1") == {"left-a-000001": False, "left-b-000001": False}
    again = remote.preflight("cleanup", "--target", "remote", "--all", "--yes")
    assert "nothing to retire" in again.stdout, say(again)


# -- the drift check ------------------------------------------------------------------------------


@contextmanager
def renaming_proxy(upstream: str):
    """A proxy in front of the sandbox that renames `campaignId` to `campaign_id` in answers and
    nests every error body (`{"error": {"code", "message"}}`): what a drifted platform looks like."""
    client = httpx.Client(base_url=upstream, follow_redirects=False, timeout=30)

    def rename(node):
        if isinstance(node, dict):
            return {("campaign_id" if k == "campaignId" else k): rename(v) for k, v in node.items()}
        return [rename(v) for v in node] if isinstance(node, list) else node

    class Handler(http.server.BaseHTTPRequestHandler):
        def _forward(self) -> None:
            size = int(self.headers.get("content-length") or 0)
            answer = client.request(
                self.command,
                self.path,
                content=self.rfile.read(size) if size else None,
                headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
            )
            body = answer.content
            if "json" in answer.headers.get("content-type", "") and body:
                doc = json.loads(body)
                if answer.status_code >= 400 and isinstance(doc.get("error"), str):
                    doc = {"error": {"code": doc.pop("error"), "message": doc.pop("message", "")}, **doc}
                body = json.dumps(rename(doc)).encode()
            self.send_response(answer.status_code)
            for name, value in answer.headers.items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                    self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = _forward

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        client.close()


def test_the_drift_check_names_the_renamed_field_and_the_error_shape_per_route(remote, sandbox):
    ready = remote.preflight("run", "--target", "remote", "--no-html", "--", "-k", "spring-ab and checks_present")
    assert ready.returncode == 0, say(ready)  # a campaign to read
    with renaming_proxy(sandbox.url) as url:
        remote_target(remote.project, url)
        before = len(sandbox.requests(10000))
        done = remote.preflight("doctor", "--target", "remote", "--contract")
        log = sandbox.requests(10000)[before + 1 :]
    assert done.returncode == 2, say(done)
    assert rows(done)["contract drift"].startswith("FAIL"), say(done)
    drift = json.loads((remote.project.path / "reports" / "contract-drift.json").read_text())
    by_path = {(r["method"], r["path"], r["status"]): r["problems"] for r in drift["routes"]}
    health = by_path[("GET", "/v2/handles/{handle}/campaigns/{campaignId}/health", 200)]
    assert "body.campaignId: missing" in health and "body.campaign_id: not in the sandbox's model" in health, health
    error = by_path[("GET", "/v2/handles/{handle}/campaigns/{campaignId}/health", 404)]
    assert "body.error: expected string, got dict" in error and "body.message: missing" in error, error
    listing = by_path[("GET", "/v2/handles/{handle}/campaigns", 200)]
    assert "body.items[*].campaignId: missing" in listing, listing
    assert by_path[("GET", "/v2/system/health", 200)] == []  # what did not change is not drift
    samples = list((remote.project.path / "reports" / "contract-samples").glob("*.json"))
    assert samples and all(remote.jwt not in p.read_text() and remote.pat not in p.read_text() for p in samples)
    assert {e["method"] for e in log} == {"GET"}


# -- the README, as written ----------------------------------------------------------------------


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Run against the real platform", 1)[1].split("\n## ", 1)[0]
    return [line.split("#")[0].strip() for line in section.splitlines() if line.startswith(".venv/bin/preflight ")]


def test_every_readme_command_for_the_real_platform_runs_as_written(project, sandbox):
    commands = readme_commands()
    assert [c.split()[1] for c in commands] == ["doctor", "plan", "run", "cleanup", "cleanup"], commands
    # The shipped production target, pointed at the sandbox (its address is all that differs).
    path = project.path / "config" / "targets" / "production.yaml"
    target = yaml.safe_load(path.read_text())
    target.update(base_url=sandbox.url, click_url=sandbox.url + "/_edge/redirect/{handle}/{slug}")
    path.write_text(yaml.safe_dump(target, sort_keys=False))
    sandbox.set_plan("gharart", "PRO")  # the handle's plan, as the target file says
    remote = Remote.__new__(Remote)
    remote.project, remote.sandbox = project, sandbox
    remote.jwt = sandbox.mint_jwt("gharart")
    remote.pat = sandbox.mint_pat("gharart", SCOPES)
    outcomes = []
    for command in commands:
        done = remote.preflight(*_split(command)[1:])
        outcomes.append((command, done.returncode))
        if command.split()[1] == "run":
            assert verdict(gate(project)) == "PASS", say(done)
    sandbox.set_plan("gharart", "ENTERPRISE")
    # The doctor and the plan say the whole config does not fit PRO (exit 2, with the split the
    # README describes); the run of the proposed selection passes; the cleanup finds nothing left.
    # (the run's exit is 3, HOLD, when all it could not judge is the stale-ctx refusal of a first run)
    assert [code for _, code in outcomes] in ([2, 2, 0, 0, 0], [2, 2, 3, 0, 0]), outcomes


def _split(command: str) -> list[str]:
    import shlex

    return shlex.split(command.replace(".venv/bin/preflight", "preflight"))


# -- nothing but reads before the opt-in -----------------------------------------------------------

EARLY_STOPS = {
    # what the user got wrong -> (how to set it up, the command, the gate's problem category or None)
    "no --allow-writes": (lambda r: remote_target(r.project, r.sandbox.url, allow_writes=False), "run", "config"),
    "a plan the quota cannot cover": (lambda r: r.sandbox.set_plan("gharart", "PRO"), "run", "quota"),
    "inside a peak window": (
        lambda r: r.project.edit_config(
            lambda data: data["run"].update(
                peak_windows=[{"name": "all day", "from": "00:00", "to": "24:00", "tz": "UTC"}]
            )
        ),
        "run",
        "peak_window",
    ),
    "an expired JWT": (lambda r: setattr(r, "jwt", _short_lived_jwt(r.sandbox)), "run", "auth"),
    "a PAT without pages.read": (
        lambda r: setattr(r, "pat", r.sandbox.mint_pat("gharart", ["analytics.read", "pages.write"])),
        "run",
        "auth",
    ),
    "the doctor": (lambda r: None, "doctor", None),
    "the plan": (lambda r: None, "plan", None),
}


def _short_lived_jwt(sandbox) -> str:
    token = sandbox.admin.post(
        "/__sandbox/tokens", json={"kind": "jwt", "handle": "gharart", "role": "CREATOR", "ttlSeconds": 1}
    ).json()["token"]
    time.sleep(1.2)  # expired, on the platform's clock and ours
    return token


@pytest.mark.parametrize("stop", list(EARLY_STOPS))
def test_nothing_but_reads_reaches_the_platform_when_a_run_stops_before_its_tests(remote, sandbox, stop):
    """On any target but the embedded sandbox, every way a run (or the doctor, or the plan) stops
    before its first test sends the platform GET requests only: the request log says so."""
    arrange, command, category = EARLY_STOPS[stop]
    arrange(remote)
    before = len(sandbox.requests(10000))
    args = ("run", "--target", "remote", "--no-html") if command == "run" else (command, "--target", "remote")
    done = remote.preflight(*args)
    log = [e for e in sandbox.requests(10000)[before + 1 :] if not e["path"].startswith("/__sandbox")]
    sandbox.set_plan("gharart", "ENTERPRISE")
    assert log, f"{stop}: expected the command to read the platform" + say(done)
    assert [(e["method"], e["path"]) for e in log if e["method"] not in ("GET", "HEAD")] == [], stop + say(done)
    if category is not None:
        doc = gate(remote.project)
        assert (done.returncode, doc["verdict"], doc["problemCategory"]) == (2, "ERROR", category), say(done)
        assert doc["results"] == [] and doc["escalations"] == [], say(done)


def test_documented_variants_are_not_drift_and_lists_are_followed_through_empty_pages(remote, sandbox):
    """Extra fields, nested error bodies, the request id under another configured header, and list
    pages that are empty but carry a nextCursor: the run would PASS there, so the doctor exits 0 and
    lists them as documented variants; it still finds a campaign (behind an empty first page) and
    makes every probe."""
    ready = remote.preflight("run", "--target", "remote", "--no-html", "--", "-k", "spring-ab and checks_present")
    assert ready.returncode == 0, say(ready)
    sandbox.set_faults(
        {
            "extra_fields": {},
            "error_shape": {"shape": "nested"},
            "request_id_header": {"header": "x-amzn-requestid"},
            "sparse_pages": {},
        }
    )
    try:
        done = remote.preflight("doctor", "--target", "remote", "--contract")
    finally:
        sandbox.set_faults({})
    assert done.returncode == 0, say(done)
    assert rows(done)["contract drift"].startswith("PASS"), say(done)
    drift = json.loads((remote.project.path / "reports" / "contract-drift.json").read_text())
    assert drift["campaignRead"] and drift["notMade"] == [], drift
    kinds = {route["probe"]: route["kind"] for route in drift["routes"]}
    assert set(kinds.values()) <= {"same", "variant"}, kinds
    health = next(r for r in drift["routes"] if r["probe"] == "campaign_health")
    assert any("not in the sandbox's model" in line for line in health["variants"]), health
    error = next(r for r in drift["routes"] if r["probe"].startswith("campaign_health (missing"))
    assert "the error body comes in the nested shape, which the run reads" in error["variants"], error
    assert any("x-amzn-requestid" in line for line in error["variants"]), error


def test_the_drift_check_says_which_probes_it_could_not_make(remote, sandbox):
    done = remote.preflight("doctor", "--target", "remote", "--contract")  # a handle with no campaign
    drift = json.loads((remote.project.path / "reports" / "contract-drift.json").read_text())
    assert drift["campaignRead"] is None, drift
    assert {p["probe"] for p in drift["notMade"]} == {
        "campaign_health",
        "public_campaign_health",
        "get_site_structure",
        "public_get_site_structure",
        "get_link",
    }, drift["notMade"]
    assert all(p["why"] for p in drift["notMade"]) and "probe(s) not made" in rows(done)["contract drift"], say(done)
