"""config/scale.yaml (100 campaigns x 3 variants) and the custom write quota it runs under.

The 100-campaign run itself takes about a minute here, so it is measured by hand (bench/RESULTS.md,
"Scale"); these check what makes it possible: its plan is honest and fits the custom quota, and
the embedded sandbox really starts with that quota."""

from __future__ import annotations

import json
import subprocess
import sys

from harness_helpers import _env, explain


def test_the_scale_config_plans_every_write_and_fits_its_custom_quota(embedded_project):
    done = subprocess.run(
        [sys.executable, "-m", "preflight", "plan", "--config", "config/scale.yaml", "--json"],
        cwd=embedded_project.path,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    plan = json.loads(done.stdout)
    assert plan["target"] == "sandbox-large" and plan["tests"] == 2875
    # 3 writes per variant (its link, a test conversion, its retirement) and 1 per campaign (the
    # refused foreign-ctx test conversion): 100 x (3 x 3 + 1).
    assert plan["writesTotal"] == 1000 and set(plan["byCampaign"].values()) == {10} and len(plan["byCampaign"]) == 100
    assert (plan["writesLeft"], plan["plan"], plan["fits"]) == (1500, "ENTERPRISE", True)


def test_the_embedded_sandbox_starts_with_the_targets_custom_quota(embedded_project):
    """The run reads usage-meters before its first write: writesLeft is the custom 1500, not ENTERPRISE's 500."""
    run = embedded_project.run(
        "--config", "config/scale.yaml", "--", "-k", "test_checks_present_and_traffic_tagged and scale-001"
    )
    assert run.code == 0, explain(run)
    gate = run.gate
    assert (gate["verdict"], gate["tests"]["ran"], gate["target"]) == ("PASS", 1, "sandbox-large")
    assert gate["writePlan"]["writesLeft"] == 1500 and gate["writePlan"]["writesTotal"] == 6, gate["writePlan"]
