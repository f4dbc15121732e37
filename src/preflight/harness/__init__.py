"""The pytest plugin: `plugin` only wires hooks to the modules here (the controller and worker
sessions, collection and scheduling, per-test evidence, the end of a run)."""
