"""Who hears the verdict (`notify:` in the run YAML): the webhooks a run posts its verdict to, and when.

    notify:
      on: change                 # change (default) | always | fail
      remind_every_hours: 6      # re-send a verdict that stays FAIL (or ERROR, HOLD) this often
      webhooks:
        - {url: "${PREFLIGHT_WEBHOOK_URL}", format: slack}

A webhook URL is a secret (Slack's and Teams' carry their token in the path or the query): it comes
from the environment, is never shown in a config error, and is redacted wherever it could surface.
A URL whose ${VAR} is not set leaves that webhook out (the gate says so): a fork or a pull request
without the secret still runs."""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from preflight.config.base import Strict, is_http_url, not_allowed

# What a URL reads when its ${VAR} was not set (the loader leaves the reference as written).
UNSET_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Parts of a URL that long are its token (Slack's last path segment, Teams' `sig`): redacted too.
TOKEN_LENGTH = 16


class Webhook(Strict):
    """One receiver of the run's message."""

    url: SecretStr = Field(
        description='an http(s) URL from the environment, e.g. "${PREFLIGHT_WEBHOOK_URL}" (a secret: never shown)'
    )
    format: Literal["json", "slack", "teams"] = "json"

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: SecretStr) -> SecretStr:
        value = url.get_secret_value()
        if UNSET_REFERENCE.search(value) or is_http_url(value):
            return url
        raise not_allowed('an http:// or https:// URL, usually "${PREFLIGHT_WEBHOOK_URL}" (set it in the environment)')

    @property
    def unset(self) -> list[str]:
        """The environment variables its URL names that were not set (then it is left out)."""
        return UNSET_REFERENCE.findall(self.url.get_secret_value())

    def secrets(self) -> list[str]:
        """The URL and every part of it that may carry its token, for the redactor."""
        value = self.url.get_secret_value()
        if self.unset:
            return []
        parts = urlsplit(value)
        whole = [value, parts.path, parts.query]
        tokens = [*parts.path.split("/"), *(item for _, item in parse_qsl(parts.query))]
        return [p for p in whole if len(p) >= 8] + [p for p in tokens if len(p) >= TOKEN_LENGTH]


class NotifySettings(Strict):
    """When a run tells the people who must act, and where."""

    on: Literal["change", "always", "fail"] = Field(
        "change",
        description="change (when the verdict differs from the last run's), always, or fail (every run that is "
        "not PASS)",
    )
    webhooks: list[Webhook] = Field(
        default_factory=list, description='a list of {url: "${VAR}", format: json|slack|teams}'
    )
    remind_every_hours: float | None = Field(
        None, gt=0, le=720, description="hours, more than 0 and at most 720: re-send a verdict that stays FAIL"
    )
    timeout_seconds: float = Field(5, gt=0, le=60, description="seconds per attempt, more than 0 and at most 60")
    attempts: int = Field(3, ge=1, le=10, description="a whole number, 1-10: tries per webhook")
    report_url: str | None = Field(
        None,
        description="an http(s) URL where the team reads the report (default: the GitHub Actions run, in CI)",
    )

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data: Any) -> Any:
        # YAML 1.1 (PyYAML) reads an unquoted `on:` key as the boolean true.
        if isinstance(data, dict) and True in data:
            data = {("on" if key is True else key): value for key, value in data.items()}
        return data

    @field_validator("report_url")
    @classmethod
    def _report_url(cls, url: str | None) -> str | None:
        if url is not None and not is_http_url(url):
            raise not_allowed("an http:// or https:// URL, e.g. https://reports.example.com/preflight/")
        return url

    @property
    def active(self) -> list[Webhook]:
        """The webhooks whose URL is set."""
        return [hook for hook in self.webhooks if not hook.unset]

    def secrets(self) -> list[str]:
        return [secret for hook in self.webhooks for secret in hook.secrets()]
