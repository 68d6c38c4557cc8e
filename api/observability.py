"""Prometheus metrics, OpenTelemetry span naming, and access recording around every request.

Request metrics are labelled by route template (never the raw path). Gauges about the
ledger (size, projection lag, checkpoint and anchoring age, last verification) are read at
scrape time. With several server workers, ``PROMETHEUS_MULTIPROC_DIR`` must be set before
the workers start (``ledger serve`` does it) and ``/metrics`` aggregates every worker.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any, Final

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry import trace
from opentelemetry.semconv.attributes.http_attributes import HTTP_ROUTE
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

from api.access import AccessRecorder
from api.security import Caller
from policies.rbac import AUDITED

# The seed's SLA: live data requests answered well under 30 s.
_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

REQUESTS: Final = Counter(
    "ledger_http_requests_total", "HTTP requests by route template and status", ["method", "route", "status"]
)
RESPONSE_TIME: Final = Histogram(
    "api_response_time_seconds", "API response time by route template", ["method", "route"], buckets=_BUCKETS
)
APPENDED: Final = Counter(
    "ledger_events_appended_total", "Events appended through the API (new, not repeats)"
)
DUPLICATES: Final = Counter(
    "ledger_events_duplicate_total", "Idempotent repeats answered with the original receipt"
)
ACCESS: Final = Counter("ledger_access_events_total", "Audited reads recorded as access.recorded events")


def new_trace_id() -> str:
    """The current span's W3C trace id (hex), or a fresh random one when tracing is off."""
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        return f"{ctx.trace_id:032x}"
    return os.urandom(16).hex()


class ObserveMiddleware:
    """Name the span after the route template, count and time the request, record audited reads."""

    def __init__(self, app: ASGIApp, recorders: dict[bool, AccessRecorder | None]) -> None:
        self.app = app
        self.recorders = recorders

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        method = str(scope.get("method", "GET"))
        route = scope.get("path_template") or "<unmatched>"
        span = trace.get_current_span()
        if span.is_recording():
            span.update_name(f"{method} {route}")
            span.set_attribute(HTTP_ROUTE, route)
        trace_id = new_trace_id()
        scope.setdefault("state", {})["trace_id"] = trace_id
        status = [500]

        async def observed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except Exception as e:
            # Raised by a middleware (401/403 from authentication): the app's outer handler answers.
            status[0] = getattr(e, "status_code", 500)
            raise
        finally:
            REQUESTS.labels(method, route, str(status[0])).inc()
            RESPONSE_TIME.labels(method, route).observe(time.perf_counter() - start)
            self._audit(scope, f"{method} {route}", status[0], trace_id)

    def _audit(self, scope: Scope, key: str, status: int, trace_id: str) -> None:
        if key not in AUDITED:
            return
        caller = scope.get("user")
        if not isinstance(caller, Caller):
            return  # unauthenticated: nothing was read (the 401 is in the request metrics)
        sandbox = scope["path"].startswith("/sandbox/")
        recorder = self.recorders.get(sandbox)
        if recorder is None:
            return
        decision = scope.get("state", {}).get("decision")
        role = (
            decision.reason.removeprefix("granted to ")
            if decision is not None and decision.allowed
            else "denied"
        )
        query = scope.get("query_string", b"").decode("latin-1")
        client = scope.get("client")
        recorder.record(
            subject=caller.sub,
            role=role if role != "denied" else (caller.roles[0] if caller.roles else "none"),
            method=str(scope.get("method", "GET")),
            route=key.partition(" ")[2],
            path=scope["path"],
            query=dict(p.partition("=")[::2] for p in query.split("&") if p),
            status=status,
            trace_id=trace_id,
            client=client[0] if client else None,
            sandbox=sandbox,
            at_ms=time.time_ns() // 1_000_000,
        )
        ACCESS.inc()


def observe_middleware(recorders: dict[bool, AccessRecorder | None]) -> Callable[[ASGIApp], ASGIApp]:
    """The middleware factory Litestar expects."""

    def factory(app: ASGIApp) -> ASGIApp:
        return ObserveMiddleware(app, recorders)

    return factory


class LedgerCollector(Collector):
    """Scrape-time gauges about the ledger (every value read fresh, so any worker answers alike)."""

    def __init__(self, read: Callable[[], dict[str, Any]]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield the gauges."""
        values = self._read()
        for name, doc in (
            ("ledger_events", "Events in the ledger (global positions)"),
            ("ledger_tree_size", "Leaves in the Merkle log"),
            ("ledger_checkpoint_size", "Size of the latest signed checkpoint"),
            ("ledger_checkpoint_age_seconds", "Seconds since the latest checkpoint was signed"),
            ("ledger_anchoring_age_seconds", "Seconds since the latest checkpoint anchored in WORM storage"),
            ("ledger_verification_ok", "1 if the last full verification passed, 0 if it failed"),
            ("ledger_verification_age_seconds", "Seconds since the last full verification finished"),
        ):
            if values.get(name) is not None:
                yield GaugeMetricFamily(name, doc, value=float(values[name]))
        lag = GaugeMetricFamily(
            "ledger_projection_lag_events", "Events not yet folded", labels=["projection"]
        )
        for projection, value in sorted(values.get("lag", {}).items()):
            lag.add_metric([projection], float(value))
        yield lag


def render_metrics(collector: LedgerCollector, multiprocess_dir: str | None) -> bytes:
    """The Prometheus exposition text: every worker's request metrics plus the scrape-time gauges."""
    registry = CollectorRegistry()
    if multiprocess_dir:
        multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)  # type: ignore[no-untyped-call]
    else:
        for c in (REQUESTS, RESPONSE_TIME, APPENDED, DUPLICATES, ACCESS):
            registry.register(c)
    registry.register(collector)
    return generate_latest(registry)


__all__ = ["REGISTRY", "LedgerCollector", "ObserveMiddleware", "render_metrics"]
