"""A worker: an xdist process that runs tests for the controller.

It rebuilds the run from the `RunContext` the controller sends in `workerinput` (no config of
its own to trust, no sandbox, no readiness: the controller did all that once), leaves its
collection for the controller's write plan, and stops like Ctrl-C on the first signal.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from preflight.core import redact
from preflight.harness import interrupts
from preflight.harness.session import PreflightSession, RunContext


class Worker(PreflightSession):
    is_worker = True

    def configure(self, config: pytest.Config) -> None:
        interrupts.worker_stops_once()

    def start(self, worker_payload: str | None) -> None:
        if not worker_payload:  # the controller could not start the run: this worker stays idle
            return
        self.runtime = RunContext(**json.loads(worker_payload))
        (Path(self.runtime.scratch) / f"{worker_id()}.pid").write_text(str(os.getpid()))
        redact.register_secret(self.runtime.jwt)
        redact.register_secret(self.runtime.pat)
        self.load_run_config(Path(self.runtime.config_path), self.runtime.target_override)
        self.know_base_url(self.runtime.base_url)
        self.describe_credentials()

    def keep_collection(self, collection: dict[str, Any]) -> None:
        """Left in the run's scratch folder for the controller, which plans the writes from it."""
        self.collection = collection
        if self.runtime is not None:
            path = Path(self.runtime.scratch) / f"collection-{worker_id()}.json"
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(collection))
            os.replace(tmp, path)


def worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "worker")
