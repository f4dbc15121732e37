"""Talking to a target: the client (credentials per surface, idempotency keys, safe retries),
the recorded exchange, the shared pace, connecting outside a run, and the read-only readiness
checks made before any write."""
