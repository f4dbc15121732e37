"""Keep credentials out of every report, log and printout.

Redaction is by shape (any JWT, any PAT) and by value (the run's own tokens), so a
token that leaks into a body, a URL or an error message is caught as well as one in
an Authorization header.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "cookie", "set-cookie", "proxy-authorization"})

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_PAT = re.compile(r"patv1_[A-Za-z0-9]+\.[A-Za-z0-9_-]+")

_known: set[str] = set()
_known_in_json: set[str] = set()  # the same secrets as they read inside a JSON string


def register_secret(value: str | None) -> None:
    """Remember a secret value so it is masked wherever it appears later."""
    if value and len(value) >= 8:
        _known.add(value)
        _known_in_json.add(json.dumps(value, ensure_ascii=False)[1:-1])


def redact_text(text: str, extra: Iterable[str] = ()) -> str:
    # The longest first: a secret that holds another (a webhook URL and its token) is masked whole.
    for secret in sorted({*_known, *extra}, key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    text = _JWT.sub(REDACTED, text)
    return _PAT.sub(REDACTED, text)


def holds_secret(text: str) -> bool:
    """Whether text holds a registered secret, or anything shaped like a JWT or a PAT (a check for
    what cannot be redacted in place, such as a browser trace or a screenshot)."""
    return any(secret in text for secret in _known) or bool(_JWT.search(text) or _PAT.search(text))


def json_holds_secret(text: str) -> bool:
    """Whether a JSON document (`json.dumps(..., ensure_ascii=False)`) holds a registered secret or
    anything shaped like a JWT or a PAT. When it does not, `redact_obj` would change none of its
    strings: encoding first and checking the text once spares the walk over every string."""
    return any(secret in text for secret in _known_in_json) or bool(_JWT.search(text) or _PAT.search(text))


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    others: dict[str, None] = {}  # the names whose value is kept, redacted where it holds a secret
    for name, value in headers:
        lowered = name.lower()
        if lowered in SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if lowered == "authorization" and " " in value else ""
            out[lowered] = f"{scheme} {REDACTED}".strip()
        else:
            out[lowered] = value
            others[lowered] = None
    # One look at every kept value at once: redact_text changes none of them unless this finds something.
    if others and holds_secret("\n".join(out[name] for name in others)):
        for name in others:
            out[name] = redact_text(out[name])
    return out


def redact_obj(obj: Any) -> Any:
    """Redact every string inside a JSON-like structure."""
    if isinstance(obj, str):
        return redact_text(obj)
    if isinstance(obj, dict):
        return {k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v) for v in obj]
    return obj
