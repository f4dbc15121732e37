"""UC-07 step 6: public conversions carry a fresh ctx token from a real click and are
idempotency-safe."""

import pytest

from preflight.lifecycle.failures import NotChecked, Unjudged
from preflight.lifecycle.steps import conversion

pytestmark = pytest.mark.preflight_step("conversion")


def test_fresh_ctx_conversion_recorded(step_run, platform_variant, fresh_ctx):
    """A public conversion with a fresh ctx is recorded for its variant."""
    conversion.record(step_run, platform_variant, fresh_ctx(platform_variant))


def test_replay_returns_same_conversion(step_run, platform_variant, fresh_ctx):
    """A replay under the same Idempotency-Key returns the same conversion."""
    first = conversion.record(step_run, platform_variant, fresh_ctx(platform_variant))
    conversion.replay_is_same(step_run, first)


def test_reused_key_with_other_body_refused(step_run, platform_variant, fresh_ctx):
    """A reused Idempotency-Key with another body is refused (422)."""
    first = conversion.record(step_run, platform_variant, fresh_ctx(platform_variant))
    conversion.reused_key_refused(step_run, first)


def test_reused_ctx_deduped_per_click(step_run, platform_variant, fresh_ctx, target):
    """A second conversion of the same click and event is deduped."""
    if not target.contract.click_event_dedupe:
        raise NotChecked(
            "the target's contract says it does not dedupe per click (contract.click_event_dedupe: false)",
            would_catch="a second conversion of one click counted twice",
        )
    first = conversion.record(step_run, platform_variant, fresh_ctx(platform_variant))
    conversion.reused_ctx_deduped(step_run, first)


def test_stale_ctx_refused(step_run, preflight, target):
    """A conversion with a stale ctx is refused.

    On a sandbox the stale ctx is minted for it; on a real target it is one an earlier run on the
    same target kept in its journal, once the platform's clock is past its expiry."""
    if preflight.runtime.sandbox:
        variant = step_run.campaign.variants[0]
        token, slug = preflight.mint_stale_ctx(target.handle, variant.slug), variant.slug
    else:
        kept, why = conversion.stale_from_journal(step_run, preflight.runtime.journal_root)
        if kept is None:
            raise Unjudged(why, fix="run again once a ctx an earlier run kept has expired (the ctx lifetime)")
        token, slug = kept.token, kept.slug
    conversion.stale_ctx_refused(step_run, token, slug)
