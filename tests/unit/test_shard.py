"""Shard assignment (`--shard I/N`): what holds, and the write plan of a shard."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from preflight.config import load_run_config
from preflight.lifecycle.shard import Shard, assign, parse, shard_of
from preflight.ops import plan

REPO = Path(__file__).resolve().parents[2]
SCALE = load_run_config(REPO / "config" / "scale.yaml")
STEMS = [c.stem for c in SCALE.campaigns]


def test_the_assignment_is_pinned_so_every_machine_and_version_agrees():
    # sha256 of the campaignId, mod N: a change here would move campaigns between reruns.
    assert [shard_of(stem, 3) for stem in ("spring-ab", "diwali-sale")] == [1, 2]
    assert [shard_of(f"scale-{n:03d}", 4) for n in range(1, 9)] == [2, 4, 4, 2, 3, 1, 3, 4]


@pytest.mark.parametrize("total", [1, 2, 3, 4, 7, 16])
def test_every_campaign_is_on_exactly_one_shard(total):
    shards = assign(STEMS, total)
    assert sorted(shards) == list(range(1, total + 1))
    assert sorted(stem for stems in shards.values() for stem in stems) == sorted(STEMS)
    for index, stems in shards.items():
        assert Shard(index, total).campaigns(STEMS) == stems


def test_the_order_of_the_config_changes_nothing():
    shuffled = STEMS[:]
    random.Random(7).shuffle(shuffled)
    for total in (2, 3, 5):
        by_shard = {i: set(s) for i, s in assign(STEMS, total).items()}
        assert {i: set(s) for i, s in assign(shuffled, total).items()} == by_shard


def test_adding_or_removing_a_campaign_moves_no_other():
    before = {stem: shard_of(stem, 3) for stem in STEMS}
    grown = assign(STEMS + ["autumn-launch"], 3)
    shrunk = assign(STEMS[1:], 3)
    assert {stem: index for index, stems in grown.items() for stem in stems if stem != "autumn-launch"} == before
    assert {stem: index for index, stems in shrunk.items() for stem in stems} == {s: before[s] for s in STEMS[1:]}


def test_a_test_of_no_campaign_runs_on_the_first_shard_only():
    assert [Shard(i, 3).holds(None) for i in (1, 2, 3)] == [True, False, False]


def test_a_100_campaign_config_spreads_over_4_shards():
    sizes = sorted(len(stems) for stems in assign(STEMS, 4).values())
    assert sum(sizes) == 100 and sizes[0] >= 15, sizes  # a hash, not a perfect split: no shard is starved


@pytest.mark.parametrize(
    "text, why",
    [
        ("x", "--shard 'x' is not I/N"),
        ("3", "--shard '3' is not I/N"),
        ("4/3", "--shard '4/3': shard 4 of 3 does not exist"),
        ("0/3", "--shard '0/3': shard 0 of 3 does not exist"),
        ("1/0", "--shard '1/0': there must be at least one shard"),
        ("-1/3", "--shard '-1/3' is not I/N"),
    ],
)
def test_a_bad_shard_says_what_is_wrong_and_how_to_write_it(text, why):
    with pytest.raises(ValueError) as caught:
        parse(text)
    message = str(caught.value)
    assert message.startswith(why) and message.endswith("e.g. --shard 1/3") and "\n" not in message, message


def test_a_good_shard_parses():
    assert parse("2/3") == Shard(2, 3) and str(parse(" 1 / 1 ")) == "1/1"


# -- the write plan of a shard -------------------------------------------------------------------


def selected(stems: list[str]) -> list[plan.Selected]:
    """The tests that spend writes, for these campaigns of the scale config (3 variants each)."""
    items = []
    for stem in stems:
        config = next(c for c in SCALE.campaigns if c.stem == stem)
        items += [
            plan.Selected(
                f"x::test_variant_test_conversion[{stem}:{v.slug}]",
                "test_variant_test_conversion",
                "test_conversion",
                stem,
                v.slug,
            )
            for v in config.variants
        ]
        items.append(plan.Selected(f"x::{plan.FOREIGN_TEST}[{stem}]", plan.FOREIGN_TEST, "test_conversion", stem))
    return items


def test_a_shard_borrows_clicks_only_from_its_own_campaigns(tmp_path):
    whole = plan.make(selected(STEMS), SCALE, run_id="r1", journal_root=str(tmp_path))
    assert whole.total == 100 * (3 * 3 + 1)
    total = 0
    for index, stems in assign(STEMS, 4).items():
        config = SCALE.on_shard(Shard(index, 4))
        assert [c.stem for c in config.lenders] == stems
        shard_plan = plan.make(selected(stems), config, run_id="r1", journal_root=str(tmp_path))
        assert set(shard_plan.by_campaign()) == set(stems), "a shard spends nothing on another shard's campaigns"
        assert shard_plan.total == len(stems) * 10
        total += shard_plan.total
    assert total == whole.total


def test_a_shard_of_one_campaign_counts_its_decoy(tmp_path):
    config = SCALE.model_copy(update={"campaigns": SCALE.campaigns[:3]})
    shards = assign([c.stem for c in config.campaigns], 3)
    lone = next(index for index, stems in shards.items() if len(stems) == 1)
    stem = shards[lone][0]
    shard_plan = plan.make(selected([stem]), config.on_shard(Shard(lone, 3)), run_id="r1", journal_root=str(tmp_path))
    # Its foreign ctx comes from a one-link decoy (created, then retired), as in a one-campaign config.
    assert shard_plan.by_campaign() == {stem: 10, f"{stem}-x": 2}
