"""Browser artifacts (screenshots, traces, a page's HTML) go into the report as they are: they
cannot be redacted in place, so each is checked for a token first and left out when it holds one.
The click and the pages need no token, so none should ever be there; this makes sure."""

from __future__ import annotations

import io
import zipfile

from preflight.core.redact import holds_secret


def holds_token(data: bytes | str) -> bool:
    """Whether an artifact holds a run's token or anything shaped like one (a zip: any of its files)."""
    if isinstance(data, str):
        return holds_secret(data)
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return any(holds_secret(archive.read(name).decode("latin-1")) for name in archive.namelist())
        except (zipfile.BadZipFile, OSError):
            pass
    return holds_secret(data.decode("latin-1"))
