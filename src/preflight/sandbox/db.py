"""The sandbox's one SQLite file: connection, schema, transactions.

Routes are `async def` and run on the event loop thread, so all SQL runs there, one statement
at a time. The connection is still guarded by a lock (and `check_same_thread=False`) so that
anything run from a worker thread stays safe. Writes that must be atomic use `tx()`, which
takes SQLite's write lock (BEGIN IMMEDIATE): the idempotency claim relies on it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS handles (
    handle TEXT PRIMARY KEY, plan TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS pats (
    token_id TEXT PRIMARY KEY, handle TEXT NOT NULL, scopes TEXT NOT NULL,
    secret_hash TEXT NOT NULL, name TEXT, created_at REAL NOT NULL, revoked_at REAL);
CREATE TABLE IF NOT EXISTS campaigns (
    id INTEGER PRIMARY KEY, handle TEXT NOT NULL, campaign_id TEXT NOT NULL,
    goal_type TEXT NOT NULL, status TEXT NOT NULL, name TEXT, lead_mode TEXT NOT NULL,
    primary_slug TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    UNIQUE (handle, campaign_id));
CREATE TABLE IF NOT EXISTS links (
    id INTEGER PRIMARY KEY, handle TEXT NOT NULL, slug TEXT NOT NULL,
    destination_url TEXT NOT NULL, title TEXT, enabled INTEGER NOT NULL, tags TEXT NOT NULL,
    utm_source TEXT, utm_medium TEXT, utm_campaign TEXT, campaign_id TEXT,
    created_at REAL NOT NULL, updated_at REAL NOT NULL,
    clicks INTEGER NOT NULL DEFAULT 0,  -- tracked clicks, kept here so health never counts rows
    redirect_type INTEGER NOT NULL DEFAULT 302, tracking_mode TEXT NOT NULL DEFAULT 'DIRECT',
    append_ctx INTEGER NOT NULL DEFAULT 1, scheduled_start_at REAL, scheduled_end_at REAL,
    expires_at REAL, max_clicks INTEGER,
    click_count INTEGER NOT NULL DEFAULT 0,  -- every click answered (the contract's clickCount)
    password_protected INTEGER NOT NULL DEFAULT 0, routing_rules TEXT NOT NULL DEFAULT '[]',
    UNIQUE (handle, slug));
CREATE INDEX IF NOT EXISTS links_by_campaign ON links (handle, campaign_id);
CREATE TABLE IF NOT EXISTS clicks (
    id INTEGER PRIMARY KEY, click_id TEXT NOT NULL UNIQUE, handle TEXT NOT NULL,
    slug TEXT NOT NULL, campaign_id TEXT NOT NULL, clicked_at REAL NOT NULL,
    bot INTEGER NOT NULL DEFAULT 0, country TEXT, device TEXT, referrer TEXT);
CREATE INDEX IF NOT EXISTS clicks_by_campaign ON clicks (handle, campaign_id, slug);
CREATE TABLE IF NOT EXISTS test_conversions (
    id INTEGER PRIMARY KEY, test_conversion_id TEXT NOT NULL UNIQUE, handle TEXT NOT NULL,
    campaign_id TEXT NOT NULL, slug TEXT NOT NULL, click_id TEXT, value REAL NOT NULL,
    currency TEXT NOT NULL, recorded_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS test_conversions_by_campaign
    ON test_conversions (handle, campaign_id, slug);
CREATE TABLE IF NOT EXISTS conversions (
    id INTEGER PRIMARY KEY, conversion_id TEXT NOT NULL UNIQUE, handle TEXT NOT NULL,
    campaign_id TEXT NOT NULL, slug TEXT NOT NULL, click_id TEXT NOT NULL,
    event_type TEXT NOT NULL, value REAL NOT NULL, currency TEXT NOT NULL,
    test INTEGER NOT NULL, created_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS conversions_by_click ON conversions (click_id, event_type);
CREATE INDEX IF NOT EXISTS conversions_by_campaign ON conversions (handle, campaign_id, slug);
CREATE TABLE IF NOT EXISTS leads (
    id INTEGER PRIMARY KEY, lead_id TEXT NOT NULL UNIQUE, handle TEXT NOT NULL,
    campaign_id TEXT NOT NULL, slug TEXT NOT NULL, click_id TEXT, email TEXT NOT NULL,
    email_norm TEXT NOT NULL, name TEXT, company TEXT, message TEXT, form_id TEXT,
    source TEXT, page_url TEXT, status TEXT NOT NULL, created_at REAL NOT NULL,
    UNIQUE (handle, campaign_id, email_norm));
CREATE TABLE IF NOT EXISTS site_structures (
    handle TEXT NOT NULL, campaign_id TEXT NOT NULL, details_page_slug TEXT,
    access_mode TEXT NOT NULL, structure_type TEXT NOT NULL, schema TEXT NOT NULL,
    schema_version INTEGER NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (handle, campaign_id));
CREATE TABLE IF NOT EXISTS deployments (
    id INTEGER PRIMARY KEY, deployment_id TEXT NOT NULL UNIQUE, handle TEXT NOT NULL,
    campaign_id TEXT NOT NULL, schema_version INTEGER NOT NULL, schema_s3_key TEXT NOT NULL,
    details_page_slug TEXT NOT NULL, access_mode TEXT NOT NULL, structure_type TEXT NOT NULL,
    schema TEXT NOT NULL, url TEXT NOT NULL, published_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS deployments_by_campaign ON deployments (handle, campaign_id);
CREATE TABLE IF NOT EXISTS support_reports (
    id INTEGER PRIMARY KEY, ticket_id TEXT NOT NULL UNIQUE, principal TEXT NOT NULL,
    body TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, state TEXT NOT NULL,
    status INTEGER, headers TEXT, body BLOB, created_at REAL NOT NULL,
    PRIMARY KEY (scope, key));
CREATE TABLE IF NOT EXISTS personalization_rules (
    id INTEGER PRIMARY KEY, handle TEXT NOT NULL, rule_id TEXT NOT NULL, priority INTEGER NOT NULL,
    enabled INTEGER NOT NULL, slugs TEXT, conditions TEXT NOT NULL, destination_url TEXT NOT NULL,
    updated_at REAL NOT NULL, UNIQUE (handle, rule_id));
CREATE TABLE IF NOT EXISTS destination_domains (
    id INTEGER PRIMARY KEY, handle TEXT NOT NULL, domain TEXT NOT NULL, status TEXT NOT NULL,
    updated_at REAL NOT NULL, UNIQUE (handle, domain));
CREATE TABLE IF NOT EXISTS quota (
    handle TEXT NOT NULL, day TEXT NOT NULL, writes INTEGER NOT NULL,
    PRIMARY KEY (handle, day));
"""

# Cleared by POST /__sandbox/reset (meta keeps the signing keys, so JWTs stay verifiable).
DATA_TABLES = (
    "handles",
    "pats",
    "campaigns",
    "links",
    "clicks",
    "test_conversions",
    "conversions",
    "leads",
    "site_structures",
    "deployments",
    "support_reports",
    "idempotency",
    "quota",
    "personalization_rules",
    "destination_domains",
)

# Columns added after a database file may have been created (a --db kept across versions).
MIGRATIONS = (
    ("links", "redirect_type", "INTEGER NOT NULL DEFAULT 302"),
    ("links", "tracking_mode", "TEXT NOT NULL DEFAULT 'DIRECT'"),
    ("links", "append_ctx", "INTEGER NOT NULL DEFAULT 1"),
    ("links", "scheduled_start_at", "REAL"),
    ("links", "scheduled_end_at", "REAL"),
    ("links", "expires_at", "REAL"),
    ("links", "max_clicks", "INTEGER"),
    ("links", "click_count", "INTEGER NOT NULL DEFAULT 0"),
    ("links", "password_protected", "INTEGER NOT NULL DEFAULT 0"),
    ("links", "routing_rules", "TEXT NOT NULL DEFAULT '[]'"),
    ("clicks", "bot", "INTEGER NOT NULL DEFAULT 0"),
    ("clicks", "country", "TEXT"),
    ("clicks", "device", "TEXT"),
    ("clicks", "referrer", "TEXT"),
)


class Database:
    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.RLock()
        self._depth = 0
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, cached_statements=512)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit is durable across a process crash, fsync only at checkpoints.
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=5000")
        self.conn.executescript(SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        for table, column, declaration in MIGRATIONS:
            have = {row["name"] for row in self.conn.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    def one(self, sql: str, args: tuple | list = ()) -> sqlite3.Row | None:
        with self.lock:
            return self.conn.execute(sql, args).fetchone()

    def all(self, sql: str, args: tuple | list = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self.conn.execute(sql, args).fetchall()

    def scalar(self, sql: str, args: tuple | list = ()) -> Any:
        row = self.one(sql, args)
        return row[0] if row is not None else None

    def run(self, sql: str, args: tuple | list = ()) -> sqlite3.Cursor:
        with self.lock:
            return self.conn.execute(sql, args)

    @contextmanager
    def tx(self) -> Iterator[None]:
        """One atomic unit. Nested calls join the outer transaction."""
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._depth = 0
                self.conn.execute("ROLLBACK")
                raise
            self._depth = 0
            self.conn.execute("COMMIT")

    def get_meta(self, key: str) -> str | None:
        return self.scalar("SELECT value FROM meta WHERE key = ?", (key,))

    def set_meta(self, key: str, value: str) -> None:
        self.run(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def clear_data(self) -> None:
        with self.tx():
            for table in DATA_TABLES:
                self.conn.execute(f"DELETE FROM {table}")

    def close(self) -> None:
        with self.lock:
            try:
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self.conn.close()
