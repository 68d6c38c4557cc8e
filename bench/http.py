"""HTTP benchmark: a real `ledger serve` on loopback, a load generator in this process.

Single-event appends (64 concurrent clients), 500-event batch appends, GET /rounds/{id} and
GET /regulator/audit p50/p99, beside the near-bare GET /health handler, in the same run.
The ledger is filled with the demo history first (``--events``; the issue's size is 1M).
The load generator shares the machine's cores with the server, so figures are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec

from infra.cli.token import issue_token
from infra.demo import demo_events
from infra.settings import Settings

LEDGER = [sys.executable, "-c", "from infra.cli.main import run; run()"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _flag(i: int) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": "feature_flag.changed",
        "schema_version": 1,
        "stream": f"FeatureFlag:bench-{i % 500}",
        "occurred_at": "2026-02-01T00:00:00.000Z",
        "actor": {"kind": "service", "id": "bench"},
        "trace_id": uuid.uuid4().hex,
        "jurisdiction": "MT",
        "payload": {
            "flag": f"bench-{i % 500}",
            "enabled": True,
            "rollout_percent": i % 101,
            "jurisdictions": ["MT"],
        },
    }


class Conn:
    """One keep-alive HTTP/1.1 connection with a minimal client (status + content-length body).

    httpx's async client costs more CPU per request than the server's handlers on these two
    shared cores (it measured ~170 req/s against a handler that answers in < 1 ms), so the
    load generator speaks HTTP/1.1 on raw asyncio streams.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, host: str, port: int) -> Conn:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, bytes]:
        lines = [f"{method} {path} HTTP/1.1", f"host: {self.host}", f"content-length: {len(body)}"]
        if body:
            lines.append("content-type: application/json")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            msg = f"{method} {path}: response without content-length"
            raise RuntimeError(msg)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


Call = Callable[[Conn, int], Awaitable[tuple[int, bytes]]]


async def _run(host: str, port: int, n: int, concurrency: int, call: Call) -> tuple[float, list[float]]:
    latencies: list[float] = []
    counter = iter(range(n))
    conns = [await Conn.open(host, port) for _ in range(concurrency)]

    async def worker(conn: Conn) -> None:
        for i in counter:
            t = time.perf_counter()
            status, body = await call(conn, i)
            latencies.append(time.perf_counter() - t)
            if status >= 300:
                msg = f"{status}: {body[:200]!r}"
                raise RuntimeError(msg)

    start = time.perf_counter()
    try:
        await asyncio.gather(*(worker(c) for c in conns))
    finally:
        for c in conns:
            c.close()
    return time.perf_counter() - start, latencies


def _row(name: str, n: int, items: int, seconds: float, lat: list[float]) -> str:
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
    return f"{name:<38} {n:>7} {items / seconds:>12,.0f} {q[49] * 1000:>9.2f} {q[98] * 1000:>9.2f}"


async def _bench(
    base: str, headers: dict[str, dict[str, str]], round_ids: list[str], args: argparse.Namespace
) -> None:
    host, _, port_text = base.removeprefix("http://").partition(":")
    port = int(port_text)
    w, d, r = headers["service_writer"], headers["dispute_handler"], headers["regulator_read"]
    encode = msgspec.json.encode
    print(f"{'operation':<38} {'requests':>7} {'items/s':>12} {'p50 ms':>9} {'p99 ms':>9}")
    s, lat = await _run(host, port, args.requests, 64, lambda c, _: c.request("GET", "/health"))
    print(_row("GET /health (bare handler), 64 clients", args.requests, args.requests, s, lat))
    s, lat = await _run(
        host, port, args.requests, 64, lambda c, i: c.request("POST", "/v1/events", w, encode(_flag(i)))
    )
    print(_row("POST /v1/events 1 event, 64 clients", args.requests, args.requests, s, lat))
    nb = args.batches

    def batch(c: Conn, i: int) -> Awaitable[tuple[int, bytes]]:
        return c.request("POST", "/v1/events", w, encode([_flag(i * 500 + k) for k in range(500)]))

    s, lat = await _run(host, port, nb, 4, batch)
    print(_row("POST /v1/events 500 events, 4 clients", nb, nb * 500, s, lat))
    s, lat = await _run(
        host,
        port,
        args.reads,
        8,
        lambda c, i: c.request("GET", f"/rounds/{round_ids[i % len(round_ids)]}", d),
    )
    print(_row("GET /rounds/{id}, 8 clients", args.reads, args.reads, s, lat))
    url = "/regulator/audit?entity=BonusRule&id=rule-welcome"
    s, lat = await _run(host, port, args.reads, 8, lambda c, _: c.request("GET", url, r))
    print(_row("GET /regulator/audit, 8 clients", args.reads, args.reads, s, lat))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--events", type=int, default=50_000, help="demo events loaded first (issue: 1,000,000)")
    p.add_argument("--requests", type=int, default=3000)
    p.add_argument("--batches", type=int, default=40)
    p.add_argument("--reads", type=int, default=2000)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-http-"))
    env = {
        **os.environ,
        "LEDGER_DATA_DIR": str(root),
    }
    settings = Settings.from_env(env)
    t = time.perf_counter()
    subprocess.run(  # noqa: S603
        [*LEDGER, "demo", "--events", str(args.events)], env=env, check=True, stdout=subprocess.DEVNULL
    )
    subprocess.run([*LEDGER, "seal"], env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    print(
        f"ledger: {args.events:,} demo events loaded and sealed in {time.perf_counter() - t:.0f} s ({root})"
    )
    round_ids = [
        e["payload"]["round_id"]
        for e in demo_events(min(args.events, 20_000))
        if e["type"] == "round.settled"
    ]
    port = _port()
    # No periodic verification beside the server: its first pass over the ledger would share the cores.
    cmd = [
        *LEDGER,
        "serve",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
        "--no-sandbox",
        "--no-verify",
    ]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(3000):
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        roles = ("service_writer", "dispute_handler", "regulator_read")
        headers = {
            r: {"Authorization": f"Bearer {issue_token(settings, roles=[r], sub='bench', ttl=3600)}"}
            for r in roles
        }
        print(
            f"server: granian, {args.workers} workers, {os.cpu_count()} cores shared with the load generator"
        )
        asyncio.run(_bench(base, headers, round_ids, args))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
