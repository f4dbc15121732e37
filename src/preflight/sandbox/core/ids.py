"""Identifiers: a short prefix naming the kind, then random hex."""

from __future__ import annotations

import os


def new_id(prefix: str, nbytes: int = 8) -> str:
    return f"{prefix}_{os.urandom(nbytes).hex()}"


def request_id() -> str:
    return "req_" + os.urandom(10).hex()
