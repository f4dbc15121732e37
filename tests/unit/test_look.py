"""The approved look's parts that need no browser: the pixel diff (held to the pure-Python
pixelmatch), the approved looks on disk, the config, `preflight approve`'s reading of a run (what
it takes, what it refuses and why), the look's judgement, a soft 404's words, and the side-by-side
page's approved | now | diff."""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from PIL import Image, ImageDraw

from preflight.browser import pixels
from preflight.browser.baselines import Baselines
from preflight.cli import main
from preflight.config import ConfigError
from preflight.config.browser import BrowserSettings, LandingExpect, Viewport
from preflight.config.loader import load_browser_settings
from preflight.core.hops import read_bridge
from preflight.lifecycle.failures import PreflightFailure, Unjudged
from preflight.lifecycle.steps import landing_look
from preflight.lifecycle.steps.landing import SOFT_404
from preflight.report import approval, landing

ROOT = Path(__file__).resolve().parents[2]
PHONE = Viewport(name="phone", width=390, height=844, mobile=True)


def screen(width=120, height=80, *, box=None, text="Spring sale") -> bytes:
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((6, 6), text, fill="black")
    if box:
        draw.rectangle(box, fill="#c2410c")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# -- the pixel diff ----------------------------------------------------------------------------------


def test_an_unchanged_screen_has_no_changed_pixel_and_no_diff_image():
    same = pixels.compare(screen(), screen(), threshold=0.1)
    assert (same.changed, same.total, same.share, same.diff_png) == (0, 120 * 80, 0.0, None)


def test_a_changed_region_is_counted_and_drawn():
    changed = pixels.compare(screen(), screen(box=(60, 40, 79, 59)), threshold=0.1)
    assert changed.changed == 400 and changed.share == pytest.approx(400 / 9600)
    assert pixels.png_size(changed.diff_png) == (120, 80)
    with Image.open(io.BytesIO(changed.diff_png)) as diff:
        assert diff.convert("RGB").getpixel((70, 50)) == (255, 0, 0)  # changed pixels in red


def test_the_counts_are_pixelmatchs_own():
    """The C++ port counts as the pure-Python pixelmatch does, anti-aliased text edges included."""
    from pixelmatch.contrib.PIL import pixelmatch as reference

    before, after = screen(text="Spring sale"), screen(text="Spring SALE", box=(90, 50, 110, 70))
    ours = pixels.compare(before, after, threshold=0.1).changed
    theirs = reference(Image.open(io.BytesIO(before)), Image.open(io.BytesIO(after)), threshold=0.1)
    assert ours == theirs and ours > 0


def test_two_sizes_are_not_compared_and_only_a_png_has_a_size():
    with pytest.raises(AssertionError, match="two sizes"):  # a guard: the caller compares sizes first
        pixels.compare(screen(), screen(width=100), threshold=0.1)
    assert pixels.png_size(b"GIF89a....") is None and pixels.png_size(screen()) == (120, 80)


# -- the approved looks on disk ------------------------------------------------------------------------


def test_a_look_is_stored_and_found_with_its_manifest(tmp_path):
    looks = Baselines(tmp_path / "baselines" / "sandbox")
    assert looks.find("spring-ab", "spring-a", "phone") is None
    path = looks.store("spring-ab", "spring-a", "phone", screen(), run_id="run-1", url="https://x.example/s?v=a")
    assert path == tmp_path / "baselines" / "sandbox" / "spring-ab" / "spring-a.phone.png"
    found = looks.find("spring-ab", "spring-a", "phone")
    assert found.png == screen() and found.run_id == "run-1" and found.url == "https://x.example/s?v=a"
    assert (
        found.size == (120, 80) and found.describe().startswith("approved 20") and "from run run-1" in found.describe()
    )
    manifest = json.loads((looks.folder / "manifest.json").read_text())["looks"]
    assert manifest["spring-ab/spring-a.phone"]["file"] == "spring-ab/spring-a.phone.png"
    path.write_bytes(b"not a png")
    assert looks.find("spring-ab", "spring-a", "phone") is None


# -- the config -------------------------------------------------------------------------------------------


def test_the_look_is_on_by_default_optional_and_can_be_switched_off():
    visual = BrowserSettings().visual
    assert (visual.enabled, visual.baselines, visual.max_diff, visual.mask, visual.required) == (
        True,
        "baselines",
        0.005,
        [],
        False,
    )
    assert BrowserSettings(visual="off").visual.enabled is False
    assert BrowserSettings().bridge_max_ms == 3000
    assert visual.folder(Path("/p/config"), "production") == Path("/p/config/baselines/production")
    assert LandingExpect(mask=[" .clock "]).mask == [".clock"]


def config_file(tmp_path: Path, change) -> Path:
    data = yaml.safe_load((ROOT / "config" / "preflight.yaml").read_text())
    change(data)
    (tmp_path / "config").mkdir(exist_ok=True)
    path = tmp_path / "config" / "preflight.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_visual_config_mistake_is_one_line(tmp_path):
    path = config_file(tmp_path, lambda d: d["browser"]["visual"].update(max_diff=5, mask=[""]))
    with pytest.raises(ConfigError) as error:
        load_browser_settings(path)
    lines = str(error.value).splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("config/preflight.yaml: browser.visual.max_diff: got 5") or "max_diff" in lines[0]
    assert "browser.visual.mask" in lines[1] and "CSS selector" in lines[1], lines


def test_the_detail_pages_content_has_a_default_and_may_be_named(tmp_path):
    from preflight.config import load_run_config

    def name_it(data):
        data["campaigns"][1]["expect"] = {"detail_page": {"content": "main.offer"}}

    config = load_run_config(config_file(tmp_path, name_it), target=str(ROOT / "config" / "targets" / "sandbox.yaml"))
    assert config.campaigns[0].detail_page_expect.content == "#page-content"
    assert config.campaigns[1].detail_page_expect.content == "main.offer"


# -- the judgement -------------------------------------------------------------------------------------


class Noted(SimpleNamespace):
    def not_checked(self, what, why, would_catch):
        self.notes.append((what, why, would_catch))


def judged(looks, **visual):
    run = Noted(notes=[])
    settings = BrowserSettings(visual=visual)
    variant = SimpleNamespace(name="spring-a", slug="spring-a-3fa9c1")
    landing_look.judge(run, variant, looks, settings, [])
    return run.notes


def look(share=None, problem=None):
    difference = pixels.Difference(round(share * 10000), 10000, b"png") if share is not None else None
    return landing_look.Look(PHONE, b"now", "https://x.example/s?v=a", "sandbox", None, difference, problem)


def test_a_look_changed_over_max_diff_is_the_pages_finding_naming_variant_viewport_and_share():
    with pytest.raises(PreflightFailure) as failure:
        judged([look(share=0.2345)])
    found = failure.value
    assert (found.category, found.cause) == ("landing_page", landing_look.LOOK_CHANGED)
    assert found.summary == (
        "spring-a's landing page differs from its approved look: phone (390×844) 23.45% of the first screen "
        "changed, over browser.visual.max_diff 0.5%"
    )
    assert "preflight approve --variant spring-a" in found.next_step and not found.escalate


def test_a_look_within_max_diff_passes_and_nothing_is_listed():
    assert judged([look(share=0.004)]) == []


def test_no_approved_look_is_listed_by_choice_or_unjudged_where_required():
    (what, why, _), *_ = judged([look(problem=landing_look.NO_LOOK)])
    assert (what, why) == ("the approved look", "phone: no approved look: run `preflight approve`")
    with pytest.raises(Unjudged) as unjudged:
        judged([look(problem=landing_look.NO_LOOK)], required=True)
    assert "no approved look: run `preflight approve`" in unjudged.value.reason
    assert "preflight approve --variant spring-a" in unjudged.value.fix


def test_the_approved_url_keeps_the_tags_and_drops_the_ctx():
    url = "http://127.0.0.1:1/_site/gharart.example/spring?v=a&ctx=c1.abc.def&utm_source=meta#top"
    assert landing_look.without_ctx(url) == "http://127.0.0.1:1/_site/gharart.example/spring?v=a&utm_source=meta"


@pytest.mark.parametrize(
    ("text", "soft"),
    [
        ("Page not found", True),
        ("404 · gharart.example", True),
        ("Oops! This offer does not exist any more", True),
        ("This page is no longer available", True),
        ("Not found", True),
        ("Control · gharart.example", False),
        ("Free shipping on 4040 items", False),
        ("Found it: the spring sale", False),
    ],
)
def test_a_soft_404_is_told_by_its_title_or_heading(text, soft):
    assert bool(SOFT_404.search(text)) is soft


def test_a_bridge_pages_wait_is_read_from_its_refresh():
    bridge = read_bridge(
        '<meta http-equiv="refresh" content="8; url=/go?ctx=1"><a id="continue" href="/go?ctx=1">', "http://e/"
    )
    assert bridge.wait_seconds == 8 and bridge.target == "http://e/go?ctx=1"


# -- preflight approve -------------------------------------------------------------------------------


def a_run(tmp_path: Path, results: list[dict], shots: dict[tuple[str, str], list[str]]) -> Path:
    """A reports folder as a run leaves it: gate.json and the landing folder's first screens."""
    reports = tmp_path / "reports"
    (reports / "landing").mkdir(parents=True)
    gate = {"runId": "run-7", "target": "sandbox", "results": results}
    (reports / "gate.json").write_text(json.dumps(gate))
    for (campaign, variant), viewports in shots.items():
        for name in viewports:
            facts = {"finalUrl": f"http://s/_site/x/{variant}?ctx=c1.x", "title": variant}
            kept = {"facts": {"url": f"http://s/_site/x/{variant}", "status": "not compared"}, "now": screen()}
            landing.save(
                reports / "landing",
                campaign=campaign,
                variant=variant,
                page="landing page",
                viewport={"name": name, "width": 390, "height": 844},
                png=screen(),
                facts=facts,
                failed=False,
                look=kept,
            )
    return reports


def journey(variant, outcome="passed", cause=None, message=None, campaign="spring-ab"):
    return {
        "step": "landing",
        "campaign": campaign,
        "variant": variant,
        "outcome": outcome,
        "cause": cause,
        "message": message,
    }


BOTH = ["phone", "desktop"]


def test_approve_takes_every_first_screen_of_a_run_whose_journey_worked(tmp_path, capsys, monkeypatch):
    reports = a_run(
        tmp_path,
        [journey("spring-a"), journey("spring-b", "failed", landing_look.LOOK_CHANGED, "[landing_page] differs")],
        {("spring-ab", "spring-a"): BOTH, ("spring-ab", "spring-b"): BOTH},
    )
    config = config_file(tmp_path, lambda d: None)
    monkeypatch.chdir(tmp_path)
    assert main(["approve", "--config", str(config), "--reports", str(reports)]) == 0
    out = capsys.readouterr().out
    assert "approved spring-ab/spring-b on phone: config/baselines/sandbox/spring-ab/spring-b.phone.png" in out
    assert "4 look(s) of run run-7 approved for target sandbox in config/baselines/sandbox/" in out
    looks = Baselines(tmp_path / "config" / "baselines" / "sandbox")
    assert looks.find("spring-ab", "spring-b", "desktop").url == "http://s/_site/x/spring-b"


def test_approve_takes_only_the_variants_and_viewports_named(tmp_path):
    reports = a_run(tmp_path, [journey("spring-a"), journey("spring-b")], {("spring-ab", "spring-a"): BOTH})
    gate = approval.read_gate(reports)
    found = approval.candidates(reports, gate, variants=["spring-a"], viewports=["phone"])
    assert [(c.variant, c.viewport) for c in found] == [("spring-a", "phone")]


@pytest.mark.parametrize(
    ("results", "shots", "args", "says"),
    [
        (
            [journey("spring-a", "failed", "the landing page answers 404", "[landing_page] on phone: answers 404")],
            {("spring-ab", "spring-a"): BOTH},
            [],
            "spring-ab/spring-a: its journey failed ([landing_page] on phone: answers 404): fix it, run again",
        ),
        (
            [
                journey(
                    "spring-a", "skipped", message="no browser can run here, so the shopper's journey is not checked"
                )
            ],
            {},
            [],
            "spring-ab/spring-a: its journey was not walked (no browser can run here",
        ),
        (
            [journey("spring-a"), journey("spring-b")],
            {("spring-ab", "spring-a"): BOTH, ("spring-ab", "spring-b"): ["phone"]},
            [],
            "spring-ab/spring-b: no first screen on desktop in this run",
        ),
        ([journey("spring-a")], {("spring-ab", "spring-a"): BOTH}, ["--variant", "spring-b"], "did you mean spring-a?"),
        ([journey("spring-a")], {("spring-ab", "spring-a"): BOTH}, ["--viewport", "tablet"], "not a viewport"),
        ([], {}, [], "walked no shopper's journey"),
    ],
)
def test_approve_refuses_a_run_saying_why(tmp_path, capsys, results, shots, args, says):
    reports = a_run(tmp_path, results, shots)
    config = config_file(tmp_path, lambda d: None)
    assert main(["approve", "--config", str(config), "--reports", str(reports), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("preflight approve: not approved: ") and says in err, err
    assert not (tmp_path / "config" / "baselines").exists()


def test_approve_without_a_run_says_so(tmp_path, capsys):
    config = config_file(tmp_path, lambda d: None)
    assert main(["approve", "--config", str(config), "--reports", str(tmp_path / "none")]) == 2
    assert "no run to approve in" in capsys.readouterr().err


# -- the side-by-side page ---------------------------------------------------------------------------


def test_the_side_by_side_page_shows_approved_now_and_diff(tmp_path):
    kept = {
        "facts": {"status": "changed", "share": 0.1234, "approved": {"at": "2026-12-07T10:00:00Z", "runId": "r-1"}},
        "now": screen(box=(0, 0, 50, 50)),
        "approved": screen(),
        "diff": screen(box=(0, 0, 9, 9)),
    }
    landing.save(
        tmp_path,
        campaign="spring-ab",
        variant="spring-a",
        page="landing page",
        viewport={"name": "phone", "width": 390, "height": 844, "mobile": True},
        png=screen(),
        facts={"finalUrl": "http://s/x", "title": "Control"},
        failed=True,
        look=kept,
    )
    page = landing.overview_page(landing.entries(tmp_path))
    table = page.split("The approved look, and now", 1)[1]
    assert table.count("<img ") == 3 and "12.34% changed · ✗ changed" in table and "run r-1" in table
    assert sorted(p.name for p in (tmp_path / "spring-ab").glob("*.png")) == [
        "spring-a.phone.approved.png",
        "spring-a.phone.diff.png",
        "spring-a.phone.now.png",
        "spring-a.phone.png",
    ]
