"""The embedded sandbox: a local imitation of the 10xDotIn campaign API v2.

A real HTTP server (FastAPI + uvicorn) on loopback with its state in one SQLite file.
Layout follows moto: `core/` holds what every route shares (auth, errors, idempotency,
throttles, quota, clock, ctx tokens), and each API resource has its own package with
`state.py` (plain functions over SQLite) and `routes.py` (its FastAPI router).

Start it with `preflight sandbox …` or `preflight.sandbox.process.SandboxProcess`.
"""
