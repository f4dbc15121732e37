"""The plain httpx script of bench/overhead.py: the requests of a recorded harness run (a trace
written by bench/bench_plugin.py), sent again in the same order with one httpx.Client and
nothing else: no pytest, no harness.

    .venv/bin/python bench/replay.py TRACE.jsonl [--summary OUT.json]

Values the sandbox chose afresh (tokens, a click's ctx, ids) differ between the recorded answers
and the replayed ones: each answer is compared with its recording, token by token, and every
value that changed is substituted into the later requests (old -> new), as the harness used the
recorded value. The replay is faithful when every status matches its recording; the summary
lists each mismatch. Run it against the same sandbox, reset: the trace holds its URL.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time

import httpx

# Values sit between these in URLs, query strings, JSON and headers (not '.', '-', '_': they
# are part of tokens, ids and ctx values).
DELIMITERS = re.compile(r'([/?&=#,;:"\s{}\[\]\\]+)')
SHORTEST = 8  # shorter differing pieces are counts and flags, not values a later request reuses


def pieces(text: str) -> list[str]:
    return DELIMITERS.split(text)


class Values:
    """old -> new for every value the replay's answers changed."""

    def __init__(self) -> None:
        self.new: dict[str, str] = {}
        self.unaligned = 0

    def learn(self, recorded: str | None, replayed: str | None) -> None:
        if not recorded or not replayed or recorded == replayed:
            return
        old, new = pieces(recorded), pieces(replayed)
        if len(old) != len(new):
            self.unaligned += 1
            return
        for before, after in zip(old, new, strict=False):
            if before != after and len(before) >= SHORTEST:
                self.new[before] = after

    def apply(self, text: str) -> str:
        if not self.new:
            return text
        new = self.new
        return "".join(new.get(piece, piece) for piece in pieces(text))


class Replayer:
    """Sends the trace's requests one at a time, in order, learning each changed value."""

    def __init__(self, records: list[dict], client: httpx.Client) -> None:
        self.records, self.client = records, client
        self.values = Values()
        self.mismatches: list[dict] = []

    def send(self, index: int) -> None:
        record, values = self.records[index], self.values
        body = record["body"]
        response = self.client.request(
            record["method"],
            values.apply(record["url"]),
            headers={name: values.apply(value) for name, value in record["headers"].items()},
            content=values.apply(body).encode() if body is not None else None,
        )
        text = response.text
        values.learn(record["responseBody"], text)
        values.learn(record["responseHeaders"].get("location"), response.headers.get("location"))
        if response.status_code != record["status"]:
            self.mismatches.append(
                {
                    "index": index,
                    "method": record["method"],
                    "path": httpx.URL(record["url"]).path,
                    "recorded": record["status"],
                    "replayed": response.status_code,
                    "body": text[:300],
                }
            )

    def summary(self, seconds: float) -> dict:
        return {
            "requests": len(self.records),
            "loopSeconds": seconds,
            "mismatches": self.mismatches,
            "unaligned": self.values.unaligned,
            "valuesMapped": len(self.values.new),
        }


def load(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def by_test(records: list[dict]) -> tuple[list[int], list[tuple[str, list[int]]], list[int]]:
    """(before the first test, [(test, its requests)] in order, after the last test): request indexes.
    A request between two tests goes with the next test."""
    before: list[int] = []
    tests: list[tuple[str, list[int]]] = []
    pending: list[int] = []
    for index, record in enumerate(records):
        test = record.get("test")
        if test is None:
            pending.append(index)
        elif tests and tests[-1][0] == test and not pending:
            tests[-1][1].append(index)
        else:
            if not tests:
                before, pending = pending, []
            tests.append((test, pending + [index]))
            pending = []
    return before, tests, pending


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench/replay.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("trace", help="a JSONL trace written by bench/bench_plugin.py")
    parser.add_argument("--summary", help="write the summary (statuses, mismatches) here as JSON")
    args = parser.parse_args(argv)
    records = load(args.trace)
    with httpx.Client(timeout=30, follow_redirects=False) as client:
        replayer = Replayer(records, client)
        started = time.perf_counter()
        for index in range(len(records)):
            replayer.send(index)
        summary = replayer.summary(time.perf_counter() - started)
    if args.summary:
        with open(args.summary, "w", encoding="utf-8") as handle:
            json.dump(summary, handle, indent=2)
    print(
        f"replay: {summary['requests']} requests in {summary['loopSeconds']:.2f}s, "
        f"{len(summary['mismatches'])} status mismatches"
    )
    return 1 if summary["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
