"""What every other part builds on, and nothing of theirs: the contract's routes, secret
masking, the clock, and the names that must not be misspelt (failure categories, sandbox faults)."""
