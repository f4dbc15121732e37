"""The faults that rewrite an answer on its way out (core/faults.RESHAPING): the request-id
header's name (request_id_header), the error shape (error_shape), unknown fields (extra_fields), a
field or CSV column said wrong (answer_rewritten). While one is on, every answer but an exempt
request's is buffered whole and rewritten once."""

from __future__ import annotations

import csv
import fnmatch
import io
import json
from typing import TYPE_CHECKING, Any

from preflight.core.faults import RESHAPING, FaultName

if TYPE_CHECKING:
    from preflight.sandbox.faults import Faults
    from preflight.sandbox.transport.call import Call


def reshaping(faults: Faults, send: Any, call: Call) -> Any:
    """`send` itself, or while a reshaping fault is on, a send() that buffers one answer and
    rewrites it as the faults say."""
    if call.exempt or not any(name in faults.active for name in RESHAPING):
        return send
    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def reshaped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            return
        if message["type"] != "http.response.body" or not start:
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        headers, body = reshape(
            faults, start["status"], list(start.get("headers", [])), b"".join(chunks), call.method, call.path
        )
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return reshaped


def reshape(
    faults: Faults, status: int, headers: list, body: bytes, method: str = "GET", path: str = ""
) -> tuple[list, bytes]:
    """Rewrite one answer: the request-id header's name, the error shape, extra fields, a field said wrong."""
    renamed = faults.hit(FaultName.REQUEST_ID_HEADER)
    if renamed:
        headers = [((renamed["header"].encode() if k.lower() == b"x-request-id" else k), v) for k, v in headers]
    rewrite = _rewrite_of(faults, method, path)
    if rewrite and rewrite["contentType"]:
        headers = [(k, rewrite["contentType"].encode() if k.lower() == b"content-type" else v) for k, v in headers]
    is_json = any(k.lower() == b"content-type" and b"json" in v for k, v in headers)
    if rewrite and not is_json and body and rewrite["field"]:
        return _sized(headers, _rewrite_csv(body.decode(), rewrite).encode())
    if not is_json or not body:
        return headers, body
    try:
        doc = json.loads(body)
    except ValueError:
        return headers, body
    if rewrite and rewrite["field"]:
        doc = _rewritten(doc, rewrite["field"].replace("[]", ".[]").split("."), rewrite)
    shape = faults.hit(FaultName.ERROR_SHAPE) if status >= 400 else None
    if shape and isinstance(doc, dict) and isinstance(doc.get("error"), str):
        doc = _error_shape(doc, status, shape["shape"])
    if isinstance(doc, dict) and faults.hit(FaultName.EXTRA_FIELDS):
        doc = {**doc, "_links": {"self": "about:blank"}, "x-sandbox-note": "an unknown field"}
        if isinstance(doc.get("items"), list):
            doc["items"] = [{**item, "extra": True} if isinstance(item, dict) else item for item in doc["items"]]
    return _sized(headers, json.dumps(doc, separators=(",", ":")).encode())


def _sized(headers: list, body: bytes) -> tuple[list, bytes]:
    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    return headers + [(b"content-length", str(len(body)).encode())], body


def _rewrite_of(faults: Faults, method: str, path: str) -> dict[str, Any] | None:
    """answer_rewritten's options when this answer is one it rewrites (counted only then)."""
    options = faults.options(FaultName.ANSWER_REWRITTEN)
    if options is None or not fnmatch.fnmatchcase(path, options["path"]):
        return None
    if options["method"] not in ("*", method):
        return None
    return faults.hit(FaultName.ANSWER_REWRITTEN)


def _rewritten(doc: Any, parts: list[str], rewrite: dict[str, Any]) -> Any:
    """`doc` with the field at `parts` set to the fault's value, or removed ("[]": every list item)."""
    if not parts:
        return doc
    head, rest = parts[0], parts[1:]
    if head == "" and rest:
        return _rewritten(doc, rest, rewrite)
    if head == "[]":
        return [_rewritten(item, rest, rewrite) for item in doc] if isinstance(doc, list) else doc
    if not isinstance(doc, dict):
        return doc
    if rest:
        return {**doc, head: _rewritten(doc.get(head), rest, rewrite)} if head in doc else doc
    if rewrite["remove"]:
        return {k: v for k, v in doc.items() if k != head}
    return {**doc, head: rewrite["value"]}


def _rewrite_csv(text: str, rewrite: dict[str, Any]) -> str:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return text
    if rewrite["field"] == "header":
        rows[0] = str(rewrite["value"] or "").split(",")
    elif rewrite["field"] in rows[0]:
        column = rows[0].index(rewrite["field"])
        for row in rows[1:]:
            if column < len(row):
                row[column] = "" if rewrite["value"] is None else str(rewrite["value"])
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def _error_shape(doc: dict[str, Any], status: int, shape: str) -> dict[str, Any]:
    code, message = doc.pop("error"), doc.pop("message", "")
    if shape == "nested":  # {"error": {"code", "message", …extra}, "requestId"}
        request_id = doc.pop("requestId", None)
        return {"error": {"code": code, "message": message, **doc}, "requestId": request_id}
    # RFC 9457 problem details, with the code and the extras as extension members
    return {
        "type": f"https://docs.10x.in/errors/{code}",
        "title": message,
        "status": status,
        "detail": message,
        "code": code,
        **doc,
    }
