"""The real server process (`ledger serve`) on a loopback port: append → seal → round with proofs →
bundle → `ledger verify-bundle` with the key from `ledger keys export-public`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from infra.cli.token import issue_token
from infra.demo import demo_events
from infra.settings import Settings

pytestmark = pytest.mark.slow
LEDGER = [sys.executable, "-c", "from infra.cli.main import run; run()"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = _free_port()
    env = {
        **os.environ,
        "LEDGER_DATA_DIR": str(tmp_path),
        "LEDGER_SANDBOX_EVENTS": "200",
        "LEDGER_PROJECTION_POLL": "0.05",
        "LEDGER_VERIFY_INTERVAL": "0.5",
        # mTLS terminated by a proxy on this host: it forwards the client-certificate subject.
        "LEDGER_CLIENT_CERT_HEADER": "X-Client-Cert",
        "LEDGER_CLIENT_CERT_ROLES": "CN=auditor-1,O=Regulator=auditor",
    }
    proc = subprocess.Popen(  # noqa: S603
        [*LEDGER, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            proc.kill()
            pytest.fail(f"server did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
        yield base, env
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _token(env: dict[str, str], role: str) -> dict[str, str]:
    s = Settings.from_env(env)
    return {"Authorization": f"Bearer {issue_token(s, roles=[role], sub=f'e2e-{role}', ttl=600)}"}


def test_append_seal_round_bundle_verify(server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    base, env = server
    events = list(demo_events(400))
    r = httpx.post(f"{base}/v1/events", json=events, headers=_token(env, "service_writer"), timeout=30)
    assert r.status_code == 201, r.text
    round_id = next(e["payload"]["round_id"] for e in events if e["type"] == "round.settled")
    sealed = httpx.post(f"{base}/admin/seal", headers=_token(env, "admin"), timeout=30).json()
    assert sealed["checkpoint"]["size"] >= 400
    dispute = _token(env, "dispute_handler")
    for _ in range(100):
        got = httpx.get(f"{base}/rounds/{round_id}?proofs=true", headers=dispute, timeout=10)
        if got.status_code == 200:
            break
        time.sleep(0.1)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["proofs"]["inclusion"]
    assert not body["proofs"]["unsealed"]
    bundle = httpx.get(f"{base}/rounds/{round_id}/bundle", headers=dispute, timeout=30)
    assert bundle.status_code == 200
    path = tmp_path / "round.zip"
    path.write_bytes(bundle.content)
    keys = subprocess.run(  # noqa: S603
        [*LEDGER, "keys", "export-public"], env=env, cwd=tmp_path, capture_output=True, check=True
    )
    (tmp_path / "trusted.txt").write_bytes(keys.stdout)
    verified = subprocess.run(  # noqa: S603
        [*LEDGER, "verify-bundle", str(path), "--trusted-key", str(tmp_path / "trusted.txt")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    assert "verify-bundle: OK" in verified.stdout
    auditor = _token(env, "auditor")
    for _ in range(200):  # `ledger serve` runs `ledger verify --follow` beside the workers
        last = httpx.get(f"{base}/ledger/verification", headers=auditor, timeout=10)
        if last.status_code == 200 and last.json()["result"].get("checkpoints", 0) >= 1:
            break
        time.sleep(0.1)
    assert last.status_code == 200, last.text
    assert last.json()["ok"] is True
    assert last.json()["result"]["events"] >= 400
    metrics = httpx.get(f"{base}/metrics", timeout=10).text
    assert 'route="/rounds/{round_id}"' in metrics
    assert "ledger_verification_ok 1.0" in metrics
    assert httpx.get(f"{base}/ready", timeout=10).json()["status"] == "ready"


def test_a_client_certificate_subject_from_the_trusted_proxy_maps_to_its_role(
    server: tuple[str, dict[str, str]],
) -> None:
    base, _ = server
    mapped = {"X-Client-Cert": "CN=auditor-1,O=Regulator"}

    assert httpx.get(f"{base}/ledger/verification", headers=mapped, timeout=30).status_code in {200, 404}
    assert httpx.get(f"{base}/rounds/rnd-0000001", headers=mapped, timeout=30).status_code == 403
    unmapped = httpx.get(f"{base}/ledger/verification", headers={"X-Client-Cert": "CN=x"}, timeout=30)
    assert unmapped.status_code == 401
    assert httpx.get(f"{base}/ledger/verification", timeout=30).status_code == 401
