"""What every route shares: auth, errors, idempotency, throttles, quota, clock, ctx tokens."""
