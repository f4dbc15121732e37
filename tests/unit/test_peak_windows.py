"""Peak windows: the window arithmetic (crossing midnight, zones with and without DST, the next
window), the platform's clock from Date headers, the messages, and the config's one-line errors."""

from __future__ import annotations

import copy
import shutil
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from preflight.config import ConfigError, load_run_config
from preflight.config.peak_windows import PeakWindow
from preflight.ops import peak

REPO = Path(__file__).resolve().parents[2]
UTC = UTC


def window(
    days: list[str] | None = None,
    start: str = "18:00",
    end: str = "23:30",
    tz: str = "Asia/Kolkata",
    name: str = "diwali evenings",
) -> PeakWindow:
    data = {"name": name, "from": start, "to": end, "tz": tz}
    if days is not None:
        data["days"] = days
    return PeakWindow.model_validate(data)


def at(*parts: int) -> datetime:
    """A UTC moment."""
    return datetime(*parts, tzinfo=UTC)


def span(occurrence: peak.Occurrence | None) -> tuple[datetime, datetime] | None:
    return (occurrence.start, occurrence.end) if occurrence else None


# -- the arithmetic ----------------------------------------------------------------------------------

DIWALI = window(["fri", "sat", "sun"])  # 2026-11-27 is a Friday; Asia/Kolkata is UTC+05:30 all year


@pytest.mark.parametrize(
    "moment, inside",
    [
        (at(2026, 11, 27, 12, 29), False),  # Fri 17:59 IST
        (at(2026, 11, 27, 12, 30), True),  # Fri 18:00 IST: the start is inside
        (at(2026, 11, 27, 17, 59), True),  # Fri 23:29 IST
        (at(2026, 11, 27, 18, 0), False),  # Fri 23:30 IST: the end is outside
        (at(2026, 11, 26, 14, 0), False),  # Thu 19:30 IST: not one of its days
        (at(2026, 11, 30, 14, 0), False),  # Mon 19:30 IST
    ],
)
def test_a_window_in_a_zone_without_dst(moment, inside):
    assert (peak.current([DIWALI], moment) is not None) is inside
    if inside:
        assert span(peak.current([DIWALI], moment)) == (at(2026, 11, 27, 12, 30), at(2026, 11, 27, 18, 0))


LATE = window(["sat"], "22:00", "02:00", "Europe/London", "late night")  # crosses midnight


@pytest.mark.parametrize(
    "moment, inside",
    [
        (at(2026, 11, 28, 21, 59), False),  # Sat 21:59 GMT
        (at(2026, 11, 28, 22, 0), True),
        (at(2026, 11, 29, 1, 59), True),  # Sun 01:59: still Saturday's window
        (at(2026, 11, 29, 2, 0), False),
        (at(2026, 11, 29, 23, 0), False),  # Sunday night: the window starts on Saturdays only
    ],
)
def test_a_window_crossing_midnight_belongs_to_the_day_it_starts(moment, inside):
    assert (peak.current([LATE], moment) is not None) is inside


def test_a_dst_zone_keeps_the_window_on_its_local_hours():
    evenings = window(["sat"], "18:00", "23:30", "Europe/London")
    summer = peak.current([evenings], at(2026, 7, 4, 17, 30))  # 18:30 BST (UTC+1)
    winter = peak.current([evenings], at(2026, 12, 5, 18, 30))  # 18:30 GMT
    assert span(summer) == (at(2026, 7, 4, 17, 0), at(2026, 7, 4, 22, 30))
    assert span(winter) == (at(2026, 12, 5, 18, 0), at(2026, 12, 5, 23, 30))
    assert peak.current([evenings], at(2026, 7, 4, 22, 45)) is None  # 23:45 BST, though 22:45 UTC


def test_a_window_across_the_dst_change_ends_on_the_new_clock():
    # Europe/London springs forward on 2026-03-29 at 01:00 GMT: 22:00 GMT to 04:00 BST is 5 hours.
    night = window(["sat"], "22:00", "04:00", "Europe/London")
    assert span(peak.current([night], at(2026, 3, 29, 2, 0))) == (at(2026, 3, 28, 22, 0), at(2026, 3, 29, 3, 0))
    # A start the change skips (02:30 on New York's spring-forward night) is read with the offset
    # before the change (PEP 495): 07:30 UTC, i.e. 03:30 EDT.
    skipped = window(["sun"], "02:30", "05:00", "America/New_York")
    assert span(peak.upcoming([skipped], at(2026, 3, 8, 0, 0))) == (at(2026, 3, 8, 7, 30), at(2026, 3, 8, 9, 0))


def test_to_24_00_ends_at_midnight():
    evening = window(["fri"], "18:00", "24:00", "UTC")
    assert span(peak.current([evening], at(2026, 11, 27, 23, 59))) == (at(2026, 11, 27, 18), at(2026, 11, 28, 0))
    assert peak.current([evening], at(2026, 11, 28, 0, 0)) is None


def test_the_next_window():
    other = window(["sun"], "09:00", "10:00", "Asia/Kolkata", "sunday morning")
    # Thursday: the next start is Friday evening.
    assert span(peak.upcoming([DIWALI, other], at(2026, 11, 26, 14, 0))) == (
        at(2026, 11, 27, 12, 30),
        at(2026, 11, 27, 18, 0),
    )
    # Inside Friday's: the next is Saturday's (a window on now is not "next").
    assert peak.upcoming([DIWALI], at(2026, 11, 27, 14, 0)).start == at(2026, 11, 28, 12, 30)
    # Sunday 09:30 IST, after Saturday's: Sunday morning's started already, so Sunday evening's.
    nxt = peak.upcoming([DIWALI, other], at(2026, 11, 29, 4, 0))
    assert (nxt.window.name, nxt.start) == ("diwali evenings", at(2026, 11, 29, 12, 30))
    # Monday 00:00 IST, after the week's last: round the week to Friday, and Sunday morning after that.
    assert peak.upcoming([DIWALI, other], at(2026, 11, 29, 18, 30)).start == at(2026, 12, 4, 12, 30)
    assert peak.upcoming([other], at(2026, 11, 29, 18, 30)).start == at(2026, 12, 6, 3, 30)


def test_back_to_back_windows_clear_at_the_last_end():
    friday = window(["fri"], "18:00", "24:00", "UTC", "friday")
    saturday = window(["sat"], "00:00", "02:00", "UTC", "saturday small hours")
    on = peak.current([friday, saturday], at(2026, 11, 27, 20, 0))
    assert on.end == at(2026, 11, 28, 0, 0)
    assert peak.clear_at([friday, saturday], on) == at(2026, 11, 28, 2, 0)
    assert peak.clear_at([friday], on) == at(2026, 11, 28, 0, 0)


# -- the clock ---------------------------------------------------------------------------------------


def exchange(date: str | None, status: int | None = 200) -> SimpleNamespace:
    return SimpleNamespace(status=status, response_headers={"date": date} if date else {})


def test_the_platform_clock_comes_from_the_date_header_and_runs_on():
    local = [1_000_000.0]
    watch = peak.ClockWatch(local=lambda: local[0])
    assert watch.now().source == peak.LOCAL
    watch(exchange("Fri, 27 Nov 2026 14:00:00 GMT"))
    local[0] += 90  # a minute and a half later on this computer
    now = watch.now()
    assert (now.source, now.moment) == (peak.PLATFORM, at(2026, 11, 27, 14, 1, 30))
    assert "platform's clock" in now.says()


@pytest.mark.parametrize("answer", [exchange(None), exchange("not a date"), exchange("Fri, 27 Nov 2026", None)])
def test_no_readable_date_falls_back_to_the_local_clock(answer):
    watch = peak.ClockWatch(local=lambda: 1_000_000.0)
    watch(answer)
    now = watch.now()
    assert (now.source, now.moment) == (peak.LOCAL, datetime.fromtimestamp(1_000_000.0, UTC))
    assert "this computer's clock" in now.says() and "no Date header" in now.says()


# -- in words ----------------------------------------------------------------------------------------


def test_the_refusal_names_the_window_now_and_its_end_in_its_zone_and_utc():
    text = peak.refusal([DIWALI], peak.Now(at(2026, 11, 27, 14, 0), peak.PLATFORM))
    assert text == (
        "peak window 'diwali evenings' (fri, sat, sun 18:00-23:30 Asia/Kolkata) is on: it is Fri 2026-11-27 19:30 "
        "Asia/Kolkata (14:00 UTC) by the platform's clock (the Date header of its answers); it ends at "
        "Fri 2026-11-27 23:30 Asia/Kolkata (18:00 UTC); nothing was written. Run after it ends, or pass "
        "--allow-peak to run anyway"
    )
    assert peak.refusal([DIWALI], peak.Now(at(2026, 11, 27, 18, 0), peak.PLATFORM)) is None


def test_the_refusal_says_when_back_to_back_windows_clear():
    friday = window(["fri"], "22:00", "24:00", "Asia/Kolkata", "friday")
    saturday = window(["sat"], "00:00", "02:00", "Asia/Kolkata", "small hours")
    text = peak.refusal([friday, saturday], peak.Now(at(2026, 11, 27, 17, 0), peak.LOCAL))
    assert "it ends at Sat 2026-11-28 00:00 Asia/Kolkata (Fri 18:30 UTC)" in text
    assert "keep the peak on until Sat 2026-11-28 02:00 Asia/Kolkata (Fri 20:30 UTC)" in text
    assert "by this computer's clock" in text


def test_status_and_sentence_show_the_window_on_now_or_the_next():
    before = peak.Now(at(2026, 11, 26, 14, 0), peak.PLATFORM)
    assert peak.sentence([DIWALI], before) == (
        "next: 'diwali evenings' (fri, sat, sun 18:00-23:30 Asia/Kolkata) from Fri 2026-11-27 18:00 Asia/Kolkata "
        "(12:30 UTC) to Fri 2026-11-27 23:30 Asia/Kolkata (18:00 UTC)"
    )
    doc = peak.status([DIWALI], before)
    assert (doc["inWindow"], doc["window"], doc["start"], doc["end"], doc["clock"]) == (
        False,
        "diwali evenings",
        "2026-11-27T12:30:00+00:00",
        "2026-11-27T18:00:00+00:00",
        "platform",
    )
    inside = peak.Now(at(2026, 11, 27, 14, 0), peak.PLATFORM)
    assert peak.sentence([DIWALI], inside).startswith("in peak window 'diwali evenings'")
    assert peak.status([DIWALI], inside)["inWindow"] is True
    assert peak.sentence([], inside) == "none configured (run.peak_windows)"
    assert peak.status([], inside)["configured"] == 0


# -- the config --------------------------------------------------------------------------------------

SHIPPED = yaml.safe_load((REPO / "config/preflight.yaml").read_text(encoding="utf-8"))
ALLOWED_TIME = 'a time "HH:MM" in quotes, 00:00-23:59, e.g. "18:00"'
ALLOWED_TZ = "an IANA time zone name, e.g. Asia/Kolkata, Europe/London, UTC"


def problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, windows: object, raw: str | None = None) -> list[str]:
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    data = copy.deepcopy(SHIPPED)
    data["run"]["peak_windows"] = windows
    text = yaml.safe_dump(data, sort_keys=False)
    if raw is not None:  # as a person types it, unquoted
        text = text.replace("peak_windows: RAW", raw)
    (tmp_path / "config/preflight.yaml").write_text(text)
    try:
        load_run_config("config/preflight.yaml")
    except ConfigError as exc:
        return exc.problems
    return []


GOOD = {"name": "diwali evenings", "days": ["fri", "sat", "sun"], "from": "18:00", "to": "23:30", "tz": "Asia/Kolkata"}
BAD_WINDOWS = {
    "misspelled day": (
        {**GOOD, "days": ["fri", "satu"]},
        "run.peak_windows[0].days[1]: got 'satu'; allowed: mon, tue, wed, thu, fri, sat, sun; did you mean 'sat'?",
    ),
    "bad time": (
        {**GOOD, "to": "25:00"},
        f"run.peak_windows[0].to: got '25:00'; allowed: {ALLOWED_TIME} (or \"24:00\")",
    ),
    "misspelled zone": (
        {**GOOD, "tz": "Asia/Kolkatta"},
        f"run.peak_windows[0].tz: got 'Asia/Kolkatta'; allowed: {ALLOWED_TZ}; did you mean 'Asia/Kolkata'?",
    ),
    "zone abbreviation": (
        {**GOOD, "tz": "IST"},
        f"run.peak_windows[0].tz: got 'IST'; allowed: {ALLOWED_TZ}; IST is an abbreviation: name the region's zone",
    ),
    "empty window": (
        {**GOOD, "to": "18:00"},
        "run.peak_windows[0]: got a mapping; allowed: from and to differ (both are 18:00); for a whole "
        'day, from: "00:00" to: "24:00"',
    ),
    "unknown key": (
        {**GOOD, "until": "23:30"},
        "run.peak_windows[0].until: unknown key 'until'; allowed: name, days, from, to, tz",
    ),
}


@pytest.mark.parametrize("windows, line", BAD_WINDOWS.values(), ids=BAD_WINDOWS.keys())
def test_each_window_mistake_is_one_line(tmp_path, monkeypatch, windows, line):
    assert problems(tmp_path, monkeypatch, [windows]) == [f"config/preflight.yaml: {line}"]


def test_an_unquoted_time_says_to_quote_it(tmp_path, monkeypatch):
    raw = 'peak_windows:\n  - {name: evenings, from: 18:00, to: "23:30", tz: UTC}'
    assert problems(tmp_path, monkeypatch, "RAW", raw=raw) == [
        f"config/preflight.yaml: run.peak_windows[0].from: got 1080; allowed: {ALLOWED_TIME}; YAML read an unquoted "
        '18:00 as a number: write "18:00"'
    ]


def test_a_good_window_loads_with_every_day_by_default(tmp_path, monkeypatch):
    assert (
        problems(
            tmp_path,
            monkeypatch,
            [
                GOOD,
                {"name": "nightly", "from": "23:00", "to": "01:00", "tz": "UTC"},
                {**GOOD, "days": ["Friday", "SAT"]},
            ],
        )
        == []
    )
    config = load_run_config("config/preflight.yaml")
    assert [[str(d) for d in w.days] for w in config.run.peak_windows] == [
        ["fri", "sat", "sun"],
        list(peak.DAYS),
        ["fri", "sat"],
    ]
