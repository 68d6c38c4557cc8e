"""compose.yaml's topology run as processes on this machine (there is no Docker engine here).

Each service of the ledger's image runs its compose command with its compose environment, in
a folder standing for the container's /var/lib/audit-ledger where each compose volume is a
shared folder and each secret a file; only the PostgreSQL address, the port and a few
intervals are changed. Then: keys-init twice, the API reached through the Dockerfile's
HEALTHCHECK, events appended, sealed by the sealer, anchored in WORM, folded by the projection
runner; verified by the verifier service (``ledger verify --follow``: no KEK, no private key,
nothing written to the volumes it reads) and its result reported by the API, which verifies
nothing itself; every metric the alert rules read present on /metrics.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client.parser import text_string_to_metric_families

from infra.cli.token import issue_token
from infra.demo import demo_events
from infra.settings import Settings
from tests.deploy import DOCKERFILE, argv, environment, load_compose, load_rules, selectors

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

HOME = "/var/lib/audit-ledger"  # the image's WORKDIR
BIN = Path(sys.executable).parent
EVENTS = 300
FASTER = {
    "LEDGER_SEAL_INTERVAL": "0.5",
    "LEDGER_PROJECTION_POLL": "0.05",
    "LEDGER_SANDBOX_EVENTS": "100",
    "LEDGER_VERIFY_INTERVAL": "1",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _image() -> tuple[dict[str, str], list[str]]:
    """The Dockerfile's final-stage LEDGER_* environment and its HEALTHCHECK command."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    final = text[text.rindex("\nFROM ") :]
    env = dict(re.findall(r"\b(LEDGER_[A-Z_]+)=(\S+)", final))
    health = re.search(r"^HEALTHCHECK .*?CMD (\[.*\])$", final, re.MULTILINE)
    assert health is not None
    command: list[str] = json.loads(health[1])
    return env, command


class Topology:
    """The compose services as local processes sharing folders the way the containers share volumes."""

    def __init__(self, tmp: Path, dsn: str, schema: str) -> None:
        self.tmp = tmp
        self.doc = load_compose({"POSTGRES_PASSWORD": "unused-locally"})
        self.services: dict[str, Any] = self.doc["services"]
        self.port = _free_port()
        self.dsn, self.schema = dsn, schema
        self.image_env, self.healthcheck = _image()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._secrets()

    def _secrets(self) -> None:
        folder = self.tmp / "secrets"
        folder.mkdir()
        (folder / "kek").write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
        key = Ed25519PrivateKey.generate()
        # The operator's identity provider signs tokens; no service of the topology holds its key.
        self.idp_key = self.tmp / "idp" / "jwt-private.pem"
        self.idp_key.parent.mkdir()
        self.idp_key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        (folder / "jwt-public.pem").write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        assert set(self.doc["secrets"]) == {p.name for p in folder.iterdir()}

    def root(self, name: str) -> Path:
        """The service's /var/lib/audit-ledger: its volumes linked in, the rest its own."""
        root = self.tmp / f"root-{name}"
        if root.exists():
            return root
        root.mkdir()
        for spec in self.services[name].get("volumes", []):
            source, target, *_ = spec.split(":")
            if target.startswith(HOME + "/"):
                volume = self.tmp / "volumes" / source
                volume.mkdir(parents=True, exist_ok=True)
                (root / target.removeprefix(HOME + "/")).symlink_to(volume)
        return root

    def _value(self, name: str, value: str) -> str:
        secret = re.fullmatch(r"/run/secrets/(.+)", value)
        if secret:
            mine = secret[1] in self.services[name].get("secrets", [])
            return str(self.tmp / "secrets" / secret[1]) if mine else f"/dev/null/{secret[1]}-not-mounted"
        return value.replace(HOME, str(self.root(name)))

    def env(self, name: str) -> dict[str, str]:
        """The service's environment: the image's, then compose's, rewritten for this machine."""
        env = {**self.image_env, **environment(self.services[name])}
        env = {k: self._value(name, v) for k, v in env.items()}
        for key, value in {
            "LEDGER_PG_DSN": self.dsn,
            "LEDGER_PG_SCHEMA": self.schema,
            "LEDGER_HOST": "127.0.0.1",
            "LEDGER_PORT": str(self.port),
            **FASTER,
        }.items():
            if key in env or key in FASTER:
                env[key] = value
        return {"PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}", "LANG": "C.UTF-8", **env}

    def command(self, name: str, *override: str) -> list[str]:
        """The service's process: entrypoint + compose command (or ``override``, as ``compose run``)."""
        service = self.services[name]
        cmd = argv({**service, "command": list(override)} if override else service, ["ledger"])
        if cmd[0] == "ledger":
            return [str(BIN / "ledger"), *cmd[1:]]
        return [c.replace(HOME, str(self.root(name))) for c in cmd]

    def run(self, name: str, *override: str) -> subprocess.CompletedProcess[str]:
        """``docker compose run --rm NAME [COMMAND...]``: the service's own command, or another."""
        return subprocess.run(  # noqa: S603
            self.command(name, *override),
            env=self.env(name),
            cwd=self.root(name),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def start(self, name: str) -> None:
        log = (self.tmp / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(  # noqa: S603
            self.command(name), env=self.env(name), cwd=self.root(name), stdout=log, stderr=log
        )

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(2)  # compose's stop_signal for the followers; granian takes it too
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def healthy(self) -> bool:
        env = self.env("api")
        done = subprocess.run(self.healthcheck, env=env, capture_output=True, check=False, timeout=10)  # noqa: S603
        return done.returncode == 0

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in self.tmp.glob("*.log")
        )


@pytest.fixture
def topology(tmp_path: Path, pg_dsn: str, pg_schema: str) -> Iterator[Topology]:
    top = Topology(tmp_path, pg_dsn, pg_schema)
    yield top
    for name in list(top.procs):
        top.stop(name)


def _metrics(top: Topology) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = httpx.get(f"http://127.0.0.1:{top.port}/metrics", timeout=30).text
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def _until(what: str, check: Callable[[], bool], top: Topology, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}\n{top.logs()}")


def _token(top: Topology, role: str) -> dict[str, str]:
    # Signed as the operator's identity provider would: its own key, the API's issuer and audience.
    names = ("LEDGER_JWT_ALGORITHM", "LEDGER_JWT_ISSUER", "LEDGER_JWT_AUDIENCE")
    idp = {k: v for k, v in environment(top.services["api"]).items() if k in names}
    settings = Settings.from_env({**idp, "LEDGER_JWT_PRIVATE_KEY_FILE": str(top.idp_key)})
    return {"Authorization": f"Bearer {issue_token(settings, roles=[role], sub=f'e2e-{role}', ttl=600)}"}


def _contents(folder: Path) -> dict[str, str]:
    """Every file under a volume: relative path -> sha256 and mode."""
    return {
        str(p.relative_to(folder)): f"{hashlib.sha256(p.read_bytes()).hexdigest()} {p.stat().st_mode:o}"
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _verification(top: Topology) -> httpx.Response:
    base = f"http://127.0.0.1:{top.port}"
    return httpx.get(f"{base}/ledger/verification", headers=_token(top, "auditor"), timeout=30)


def _start_and_seal(top: Topology) -> None:
    """keys-init (twice), the sealer, the projection runner and the API; events sealed and folded."""
    for _ in range(2):  # idempotent: a second `docker compose up` must not fail on the keyring
        init = top.run("keys-init")
        assert init.returncode == 0, init.stdout + init.stderr
    published = top.root("api") / "signing"
    assert sorted(p.name for p in published.iterdir()) == ["keyring.json"], "the API gets no private key"
    assert list((top.root("sealer") / "signing").glob("*.key")), "the sealer holds the private key"

    for name in ("sealer", "projections", "api"):
        top.start(name)
    assert not top.healthy()
    _until("the Dockerfile HEALTHCHECK to pass", top.healthy, top, seconds=180)

    events = list(demo_events(EVENTS))
    base = f"http://127.0.0.1:{top.port}"
    appended = httpx.post(f"{base}/v1/events", json=events, headers=_token(top, "service_writer"), timeout=60)
    assert appended.status_code == 201, appended.text

    def sealed_anchored_folded() -> bool:
        m = _metrics(top)
        size = m.get("ledger_checkpoint_size", [({}, 0.0)])[0][1]
        lags = [v for _, v in m.get("ledger_projection_lag_events", [])]
        return size >= EVENTS and "ledger_anchoring_age_seconds" in m and bool(lags) and not any(lags)

    _until("a checkpoint, its WORM anchor and current projections", sealed_anchored_folded, top)
    notes = list((top.tmp / "volumes" / "worm" / "checkpoints").glob("*.note"))
    assert notes, "the sealer wrote the checkpoint into the WORM volume the API reads"


def _verify_with_the_verifier_service(top: Topology) -> None:
    """The verifier's result, from its own process, is what the API reports (a shared store)."""
    events = int(_metrics(top)["ledger_events"][0][1])
    read = ("worm", "signing-public")
    before = {v: _contents(top.tmp / "volumes" / v) for v in read}

    top.start("verifier")
    # The API verifies nothing itself, so the first result it reports is the verifier's.
    _until("the API to report the verifier's result", lambda: _verification(top).status_code == 200, top)
    top.stop("verifier")
    shown = _verification(top).json()  # an auditor's read is recorded: the ledger grows meanwhile
    assert shown["ok"] is True, shown
    assert shown["result"]["events"] >= events
    assert shown["result"]["checkpoints"] >= 1
    assert shown["result"]["worm_objects"] == shown["result"]["checkpoints"]
    assert _metrics(top)["ledger_verification_ok"][0][1] == 1.0
    said = [
        line for line in (top.tmp / "verifier.log").read_text().splitlines() if line.startswith("verify:")
    ]
    assert said, top.logs()
    assert said[-1].startswith(f"verify: OK: {shown['result']['events']} events"), said[-1]

    last = top.run("verifier", "verify", "--last", "--json")  # docker compose run --rm verifier …
    assert last.returncode == 0, last.stdout + last.stderr
    assert json.loads(last.stdout) == shown["result"], "the verifier's store is the one the API reads"
    text = top.run("verifier", "verify", "--last")
    assert text.stdout.startswith(f"verify (last run, finished {shown['finished_at']}): OK: "), text.stdout

    # It needed no KEK (none was made up in its root) and changed nothing it reads.
    assert sorted(p.name for p in top.root("verifier").iterdir()) == ["signing", "worm"]
    assert {v: _contents(top.tmp / "volumes" / v) for v in read} == before


def test_the_compose_topology_seals_anchors_folds_and_verifies(topology: Topology) -> None:
    top = topology
    _start_and_seal(top)
    base = f"http://127.0.0.1:{top.port}"
    # `serve --no-verify`: the API verifies nothing itself (its result would be there by now).
    assert _verification(top).status_code == 404
    assert "ledger_verification_ok" not in _metrics(top)

    top.stop("sealer")  # so the WORM volume stays as it is while the verifier reads it
    _verify_with_the_verifier_service(top)
    m = _metrics(top)
    size_before = m["ledger_checkpoint_size"][0][1]
    used = set().union(*(selectors(r["expr"]).metrics for r in load_rules())) - {"up"}
    assert used <= set(m), f"the running topology does not export {used - set(m)}"
    assert httpx.get(f"{base}/ready", timeout=30).json()["status"] == "ready"

    # With the sealer stopped and an event waiting, the API's own POST /admin/seal cannot sign:
    # it holds no private key, so it can never race the sealer into a sibling checkpoint.
    more = httpx.post(
        f"{base}/v1/events",
        json=list(demo_events(EVENTS + 1))[EVENTS:],
        headers=_token(top, "service_writer"),
        timeout=60,
    )
    assert more.status_code == 201, more.text
    refused = httpx.post(f"{base}/admin/seal", headers=_token(top, "admin"), timeout=60)
    assert refused.status_code != 200, refused.text
    assert "private key" in refused.text
    assert _metrics(top)["ledger_checkpoint_size"][0][1] == size_before

    top.stop("api")
    assert not top.healthy(), "the HEALTHCHECK must fail when the API is gone"
