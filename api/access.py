"""Record every audited read and export in the ledger itself (``access.recorded``).

Recording is off the request path: a daemon thread appends whatever has queued as one
batch (one group commit), so an audited read costs a queue put, not a durable commit.
``flush()`` waits until everything queued so far is committed (tests, shutdown).
"""

from __future__ import annotations

import hashlib
import logging
import queue
import re
import threading
import uuid
from typing import Any, Final

from ledger.application import Ledger
from ledger.catalogue.types import Timestamp
from ledger.errors import LedgerError

_REF = re.compile(r"^[A-Za-z0-9_.:@\-]{1,128}$")
_log = logging.getLogger("api.access")
MAX_QUERY_VALUE: Final = 500


def safe_ref(value: str) -> str:
    """``value`` if it is a valid reference, else a stable digest of it."""
    return value if _REF.match(value) else f"sha256-{hashlib.sha256(value.encode()).hexdigest()[:32]}"


class AccessRecorder:
    """Queue access events and append them in batches on a background thread."""

    def __init__(self, ledger: Ledger, *, jurisdiction: str, batch: int = 500) -> None:
        self._ledger = ledger
        self._jurisdiction = jurisdiction
        self._batch = batch
        self._queue: queue.SimpleQueue[dict[str, Any] | threading.Event | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="api-access-recorder", daemon=True)
        self._thread.start()
        self.recorded = 0
        self.failed = 0

    def record(
        self,
        *,
        subject: str,
        role: str,
        method: str,
        route: str,
        path: str,
        query: dict[str, str],
        status: int,
        trace_id: str,
        client: str | None,
        sandbox: bool,
        at_ms: int,
    ) -> None:
        """Queue one ``access.recorded`` event (returns at once)."""
        ref = safe_ref(subject)
        self._queue.put(
            {
                "event_id": str(uuid.uuid4()),
                "type": "access.recorded",
                "schema_version": 1,
                "stream": f"Access:{ref}",
                "occurred_at": Timestamp.from_epoch_ms(at_ms).canonical(),
                "actor": {"kind": "service" if role == "service_writer" else "operator", "id": ref},
                "trace_id": trace_id,
                "jurisdiction": self._jurisdiction,
                "payload": {
                    "subject": ref,
                    "role": role,
                    "method": method,
                    "route": route,
                    "path": path[:2000],
                    "query": {k[:100]: v[:MAX_QUERY_VALUE] for k, v in list(query.items())[:20]},
                    "status": status,
                    "client": client,
                    "sandbox": sandbox,
                },
            }
        )

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every event queued before this call is committed."""
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout)

    def close(self) -> None:
        """Commit what is queued and stop the thread."""
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        stop = False
        while not stop:
            item = self._queue.get()
            batch: list[dict[str, Any]] = []
            waiters: list[threading.Event] = []
            while True:
                if item is None:
                    stop = True
                elif isinstance(item, threading.Event):
                    waiters.append(item)
                else:
                    batch.append(item)
                if stop or len(batch) >= self._batch:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            self._append(batch)
            for w in waiters:
                w.set()

    def _append(self, batch: list[dict[str, Any]]) -> None:
        if not batch:
            return
        try:
            self._ledger.append(batch)
            self.recorded += len(batch)
        except LedgerError as e:
            self.failed += len(batch)
            _log.error("could not record %d access events: %s", len(batch), e)
