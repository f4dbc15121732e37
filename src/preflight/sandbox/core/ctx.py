"""ctx tokens: HMAC-SHA256 over handle, slug, campaign, click id and click time.

A ctx is opaque to clients: `c1.<payload>.<signature>`, both base64url. It proves a tracked
click and goes stale `ctx_ttl` seconds after the click (sandbox clock). A bad one is answered
400 `invalid_ctx` with a `reason`: malformed, bad_signature, expired, wrong_handle,
wrong_campaign.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from preflight.core.faults import FaultName
from preflight.sandbox.core.errors import ApiError

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime

PREFIX = "c1"


@dataclass(frozen=True)
class Click:
    handle: str
    slug: str
    campaign_id: str
    click_id: str
    clicked_at: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())


def mint(key: bytes, click: Click) -> str:
    fields = [click.handle, click.slug, click.campaign_id, click.click_id, int(round(click.clicked_at * 1000))]
    payload = _b64(json.dumps(fields, separators=(",", ":")).encode())
    return f"{PREFIX}.{payload}.{_sign(key, payload)}"


def invalid(reason: str, message: str) -> ApiError:
    return ApiError(400, "invalid_ctx", message, reason=reason)


def peek(token: str) -> Click | None:
    """The click a ctx names, unverified (the fault filters use it to find the campaign)."""
    try:
        return _decode_payload(token.split(".")[1])
    except (IndexError, ValueError, TypeError, binascii.Error):
        return None


def _decode_payload(payload: str) -> Click:
    handle, slug, campaign_id, click_id, ms = json.loads(_unb64(payload))
    if not all(isinstance(v, str) for v in (handle, slug, campaign_id, click_id)):
        raise ValueError("ctx fields")
    if not isinstance(ms, int) or isinstance(ms, bool):
        raise ValueError("ctx time")
    return Click(handle, slug, campaign_id, click_id, ms / 1000.0)


def decode(key: bytes, token: object) -> Click:
    """A verified click, or invalid_ctx malformed / bad_signature (expiry is checked apart)."""
    if not isinstance(token, str) or not token:
        raise invalid("malformed", "ctx is missing or not a string")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise invalid("malformed", "ctx is not a ctx token")
    try:
        click = _decode_payload(parts[1])
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise invalid("malformed", "ctx payload cannot be read") from None
    if not hmac.compare_digest(_sign(key, parts[1]), parts[2]):
        raise invalid("bad_signature", "ctx signature does not match")
    return click


def check(
    rt: Runtime,
    token: object,
    handle: str | None = None,
    campaign_id: str | None = None,
    wrong_campaign_ok: bool = False,
) -> Click:
    """Verify a ctx for a route: signature, then handle, campaign and age."""
    try:
        click = decode(rt.ctx_key, token)
    except ApiError as refused:
        forged = peek(token) if isinstance(token, str) and refused.extra.get("reason") == "bad_signature" else None
        if forged is None or not rt.faults.hit(FaultName.TAMPERED_CTX_ACCEPTED, forged.campaign_id, forged.slug):
            raise
        click = forged
    if handle is not None and click.handle != handle:
        raise invalid("wrong_handle", f"ctx belongs to handle {click.handle}, not {handle}")
    if campaign_id is not None and click.campaign_id != campaign_id and not wrong_campaign_ok:
        raise invalid("wrong_campaign", f"ctx belongs to campaign {click.campaign_id}, not {campaign_id}")
    if expires_at(rt, click) <= rt.clock.now():
        if not rt.faults.hit(FaultName.STALE_CTX_ACCEPTED, click.campaign_id, click.slug):
            raise invalid("expired", "ctx is stale: mint a fresh one from a new click")
    return click


def expires_at(rt: Runtime, click: Click) -> float:
    return click.clicked_at + rt.settings.ctx_ttl
