"""What every config model shares: unknown keys refused, the contract's camelCase names readable,
and the validation errors whose message is what *is* allowed (errors.py adds the bad value).

API fields keep the contract's camelCase names as YAML keys (aliases); harness-only settings are
snake_case. Every model refuses unknown keys, because in a hand-edited file an unknown key is
almost always a typo that would otherwise be silently ignored. Field descriptions are written for
the person editing the YAML: `errors.py` prints them as the "allowed" part of a problem line.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticCustomError

# The run names things pf-<runId>-<stem> and <slug>-xxxxxx, so the configured parts are
# shorter than the platform's limits (campaignId 64, slug 24).
STEM_PATTERN = r"^[a-z0-9][a-z0-9-]{2,29}$"
STEM_RULE = (
    "3-30 lowercase letters, digits or '-', starting with a letter or digit "
    "(30 at most because the run prefixes 'pf-<runId>-' and the platform allows 64)"
)
SLUG_PATTERN = r"^[A-Za-z0-9_-]{4,17}$"
SLUG_RULE = "4-17 letters, digits, '-' or '_' (17 at most because the run appends '-xxxxxx' and the platform allows 24)"
HANDLE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
PAGE_SLUG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
DOMAIN_PATTERN = r"^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
JWT_PATTERN = re.compile(r"^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
PAT_PATTERN = re.compile(r"^patv1_[A-Za-z0-9]+\.[A-Za-z0-9_-]+$")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
DEFAULT_REQUEST_ID_HEADERS = ("x-request-id", "x-amzn-requestid", "request-id")


def not_allowed(allowed: str) -> PydanticCustomError:
    """A validation error whose message is what *is* allowed; errors.py adds the bad value."""
    return PydanticCustomError("not_allowed", "{allowed}", {"allowed": allowed})


def required_here(allowed: str) -> PydanticCustomError:
    """A key that is optional in general but required in this context (e.g. for a remote target)."""
    return PydanticCustomError("required_here", "{allowed}", {"allowed": allowed})


def placeholders(template: str) -> set[str]:
    return set(PLACEHOLDER.findall(template))


def is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in url)


class Strict(BaseModel):
    # Unknown keys are refused: errors.py turns them into "did you mean" lines.
    model_config = ConfigDict(extra="forbid")

    def __getattr__(self, name: str) -> Any:
        # The contract's camelCase names (goalType, detailPage, ...) read as well as the
        # snake_case field names, so step code can use whichever the contract shows.
        for field, info in type(self).model_fields.items():
            if info.alias == name:
                return getattr(self, field)
        return super().__getattr__(name)  # type: ignore[misc]
