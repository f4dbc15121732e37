"""The tolerant readers (core.readings): a value in an unambiguous other representation is read as
what it means; a value that cannot be read is an Unreadable naming it, never "not set"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from preflight.core.clock import parse_time
from preflight.core.readings import Unreadable, read_bool, read_number, read_time

NOV_2023 = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # epoch 1700000000


@pytest.mark.parametrize(
    "value, meaning",
    [(100, 100), (12.5, 12.5), ("100", 100), (" 100 ", 100), ("12.5", 12.5), ("-3", -3), (0, 0), (None, None)],
)
def test_a_number_or_a_numeric_string_is_its_number(value, meaning):
    got = read_number(value)
    assert got == meaning and type(got) is type(meaning)


@pytest.mark.parametrize("value", [True, "lots", "", "1e3", "nan", "1_000", float("inf"), [1], {"n": 1}])
def test_what_is_no_number_is_unreadable_and_says_what_it_got(value):
    got = read_number(value)
    assert isinstance(got, Unreadable) and got.wanted == "a number"


@pytest.mark.parametrize(
    "value, meaning",
    [(True, True), (False, False), ("true", True), ("false", False), (" FALSE ", False), ("True", True), (None, None)],
)
def test_a_boolean_or_its_string_is_the_boolean(value, meaning):
    assert read_bool(value) is meaning


@pytest.mark.parametrize("value", [0, 1, "yes", "", "0", [], {}])
def test_what_is_no_boolean_is_unreadable(value):
    got = read_bool(value)
    assert isinstance(got, Unreadable) and got.wanted == "true or false"


@pytest.mark.parametrize(
    "value",
    [
        1700000000,
        "1700000000",
        1700000000000,  # milliseconds
        "1700000000000",
        1700000000.0,
        "2023-11-14T22:13:20Z",
        "2023-11-14T22:13:20.000Z",
        "2023-11-15T03:43:20+05:30",
        "2023-11-14T22:13:20",  # no zone: UTC, as the contract's times are
    ],
)
def test_a_time_is_rfc3339_or_epoch_seconds_or_milliseconds(value):
    assert read_time(value) == NOV_2023
    assert parse_time(value) == NOV_2023  # the clock's reader is the same one


@pytest.mark.parametrize("value", ["next tuesday", "", True, [1700000000], 1e300])
def test_what_is_no_time_is_unreadable_and_the_clock_says_none(value):
    got = read_time(value)
    assert isinstance(got, Unreadable) and "RFC 3339" in got.wanted
    assert parse_time(value) is None


def test_an_absent_time_is_none_not_unreadable():
    assert read_time(None) is None and parse_time(None) is None


def test_an_unreadable_value_is_described_as_the_answer_wrote_it():
    assert read_number("lots").describe("maxClicks") == 'maxClicks is "lots", not a number'
    assert read_bool(1).describe("enabled") == "enabled is 1, not true or false"
    assert Unreadable({1, 2}, "x").shown == "{1, 2}"  # not JSON: its repr
