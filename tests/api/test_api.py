"""The API in process: ingest codes, problem+json, proofs that verify, access events, sandbox, ops."""

from __future__ import annotations

import dataclasses
import io
import json
import time
import zipfile
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from api.app import create_app
from api.deps import ApiDeps
from infra.settings import Settings
from infra.wiring.api import build_deps
from infra.wiring.sandbox import catch_up_views
from ledger.merkle import verify_consistency, verify_inclusion
from tests.api.conftest import Token, recorder_of
from tests.factories import Events

PROBLEM = "application/problem+json"


def _problem(r: Any, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    assert body["type"] == f"https://audit-ledger.local/problems/{slug}"
    assert "Traceback" not in r.text
    return body


def test_ingest_new_repeat_conflict_and_invalid(client: TestClient[Litestar], token: Token) -> None:
    h, ev = token("service_writer", sub="svc-bonus"), Events(seed=77)
    one = ev.feature_flag("api-flag")
    first = client.post("/v1/events", json=one, headers=h)
    assert first.status_code == 201
    again = client.post("/v1/events", json=one, headers=h)
    assert again.status_code == 200
    assert again.json()["receipts"] == [{**first.json()["receipts"][0], "duplicate": True}]
    changed = {**one, "payload": {**one["payload"], "rollout_percent": 5}}
    _problem(client.post("/v1/events", json=changed, headers=h), 409, "conflict")
    batch = [ev.feature_flag(f"b{i}") for i in range(5)]
    batch[3]["payload"]["rollout_percent"] = 500
    body = _problem(client.post("/v1/events", json=batch, headers=h), 422, "validation")
    assert body["field"] == "events[3].payload.rollout_percent"
    batch[3]["payload"]["rollout_percent"] = 50
    batch[2]["type"] = 5
    assert (
        _problem(client.post("/v1/events", json=batch, headers=h), 422, "validation")["field"]
        == "events[2].type"
    )
    batch[2]["type"] = "feature_flag.changed"
    created = client.post("/v1/events", json=batch, headers=h)
    assert created.status_code == 201
    assert [r["stream_position"] for r in created.json()["receipts"]] == [0] * 5
    stale = ev.feature_flag("api-flag", expected_stream_position=0)
    _problem(client.post("/v1/events", json=stale, headers=h), 409, "conflict")
    got = client.get(f"/v1/events/{one['event_id']}", headers=h)
    assert got.json()["hash"] == first.json()["receipts"][0]["hash"]
    _problem(client.post("/v1/events", json=[ev.feature_flag("x")] * 1001, headers=h), 422, "validation")


def test_missing_bad_and_expired_tokens_are_401_problems(client: TestClient[Litestar], token: Token) -> None:
    _problem(client.get("/ledger/checkpoints/latest"), 401, "unauthenticated")
    bad = {"Authorization": "Bearer not-a-jwt"}
    _problem(client.get("/ledger/checkpoints/latest", headers=bad), 401, "unauthenticated")
    expired = token("auditor", ttl=-120)
    _problem(client.get("/ledger/checkpoints/latest", headers=expired), 401, "unauthenticated")
    body = _problem(client.get("/rounds/rnd-0000001", headers=token("auditor")), 403, "forbidden")
    assert body["policy_version"].startswith("rbac-")
    _problem(client.get("/nowhere"), 404, "not-found")


def test_seal_then_proofs_verify_against_the_checkpoint(client: TestClient[Litestar], token: Token) -> None:
    sealed = client.post("/admin/seal", headers=token("admin")).json()
    size = sealed["checkpoint"]["size"]
    aud = token("auditor")
    cp = client.get("/ledger/checkpoints/latest", headers=aud).json()
    assert cp["size"] == size
    assert client.get(f"/ledger/checkpoints/{size}", headers=aud).json() == cp
    proof = client.get(f"/ledger/proofs/inclusion?position=7&size={size}", headers=aud).json()
    verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]),
        7,
        size,
        [bytes.fromhex(p) for p in proof["audit_path"]],
        bytes.fromhex(cp["root"]),
    )
    c = client.get(f"/ledger/proofs/consistency?from=10&to={size}", headers=aud).json()
    verify_consistency(
        10,
        size,
        [bytes.fromhex(p) for p in c["consistency_path"]],
        bytes.fromhex(c["first_root"]),
        bytes.fromhex(cp["root"]),
    )
    _problem(
        client.get(f"/ledger/proofs/inclusion?position={size}&size={size}", headers=aud), 422, "validation"
    )
    _problem(client.get("/ledger/checkpoints/999999", headers=aud), 404, "not-found")
    rnd = client.get("/rounds/rnd-0000001?proofs=true", headers=token("dispute_handler")).json()
    assert rnd["data"]["round_id"] == "rnd-0000001"
    assert [p["position"] for p in rnd["proofs"]["inclusion"]] == rnd["data"]["positions"]
    for p in rnd["proofs"]["inclusion"]:
        verify_inclusion(
            bytes.fromhex(p["leaf_hash"]),
            p["position"],
            size,
            [bytes.fromhex(x) for x in p["audit_path"]],
            bytes.fromhex(rnd["proofs"]["checkpoint"]["root"]),
        )
    bundle = client.get("/rounds/rnd-0000001/bundle", headers=token("dispute_handler"))
    assert bundle.status_code == 200
    assert bundle.headers["content-type"] == "application/zip"
    assert bundle.content[:2] == b"PK"
    # A jackpot round: its bundle carries the contribution, trigger and payout on the Jackpot stream.
    jackpot_round = client.get("/rounds/rnd-0000017", headers=token("dispute_handler")).json()["data"]
    assert jackpot_round["jackpot"]["payout"] is not None
    jackpot_bundle = client.get("/rounds/rnd-0000017/bundle", headers=token("dispute_handler"))
    with zipfile.ZipFile(io.BytesIO(jackpot_bundle.content)) as zf:
        scope = json.loads(zf.read("bundle.json"))["scope"]
    assert scope["positions"] == jackpot_round["positions"]
    assert jackpot_round["jackpot"]["payout"]["position"] in scope["positions"]
    exported = client.get("/ledger/export?stream=BonusRule:rule-welcome", headers=aud)
    assert exported.status_code == 200
    verified = client.post("/admin/verification", headers=token("admin")).json()
    assert verified["ok"] is True
    assert client.get("/ledger/verification", headers=aud).json()["ok"] is True


def test_regulator_compliance_views(client: TestClient[Litestar], token: Token) -> None:
    reg = token("regulator_read", sub="inspector-1")
    audit = client.get("/regulator/audit?entity=BonusRule&id=rule-welcome&proofs=true", headers=reg).json()
    assert audit["revisions"][0]["patch"]
    assert audit["proofs"]["unsealed"]  # nothing sealed yet: every position waits for the next seal
    player = client.get("/regulator/player/plr-000001", headers=reg).json()
    assert player["state"]["kyc"]["status"]
    page = client.get("/regulator/logs/kyc?limit=3", headers=reg).json()
    assert len(page["events"]) == 3
    assert all(e["type"].startswith("kyc.") for e in page["events"])
    nxt = client.get(f"/regulator/logs/kyc?limit=3&cursor={page['next_cursor']}", headers=reg).json()
    assert nxt["events"][0]["position"] > page["events"][-1]["position"]
    nd = client.get("/regulator/logs/kyc?limit=2&format=ndjson", headers=reg)
    assert nd.headers["content-type"].startswith("application/x-ndjson")
    assert len(nd.content.splitlines()) == 2
    comp = token("compliance_officer")
    assert client.get("/cases/case-0000001", headers=comp).json()["data"]["case_id"] == "case-0000001"
    assert client.get("/players/plr-000001", headers=comp).json()["data"]["player_ref"] == "plr-000001"
    _problem(client.get("/cases/nope", headers=comp), 404, "not-found")


def test_audited_reads_are_appended_to_the_ledger(
    app: Litestar, client: TestClient[Litestar], token: Token
) -> None:
    reg = token("regulator_read", sub="inspector-9")
    r = client.get(
        "/regulator/audit?entity=BonusRule&id=rule-welcome",
        headers=reg | {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
    )
    assert r.status_code == 200
    recorder_of(app).flush()
    read = client.get("/regulator/logs/access?limit=10", headers=reg).json()["events"]
    access = [e for e in read if e["stream"] == "Access:inspector-9"]
    assert access[0]["payload"] | {"query": None} == {
        "subject": "inspector-9",
        "role": "regulator_read",
        "method": "GET",
        "route": "/regulator/audit",
        "path": "/regulator/audit",
        "query": None,
        "status": 200,
        "client": "testclient",
        "sandbox": False,
    }
    assert access[0]["payload"]["query"] == {"entity": "BonusRule", "id": "rule-welcome"}
    assert access[0]["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_sandbox_never_reads_production(client: TestClient[Litestar], token: Token) -> None:
    reg = token("regulator_read")
    prod = client.get("/regulator/audit?entity=BonusRule&id=rule-welcome", headers=reg).json()
    sand = client.get("/sandbox/regulator/audit?entity=BonusRule&id=rule-welcome", headers=reg).json()
    assert {r["hash"] for r in prod["revisions"]}.isdisjoint({r["hash"] for r in sand["revisions"]})
    ev = Events(seed=99)
    secret = ev.feature_flag("production-only")
    assert client.post("/v1/events", json=secret, headers=token("service_writer")).status_code == 201
    logs = client.get("/sandbox/regulator/logs/feature_flag?limit=1000", headers=reg).json()
    assert secret["event_id"] not in {e["event_id"] for e in logs["events"]}


def test_sandbox_deps_hold_another_ledger(deps: ApiDeps) -> None:
    assert deps.sandbox is not None
    assert deps.sandbox.ledger is not deps.main.ledger
    assert deps.sandbox.ledger.store is not deps.main.ledger.store
    assert deps.sandbox.tree_store is not deps.main.tree_store


def test_metrics_and_route_template_spans(
    client: TestClient[Litestar], token: Token, spans: InMemorySpanExporter
) -> None:
    client.get("/rounds/rnd-0000001", headers=token("dispute_handler"))
    text = client.get("/metrics").text
    assert 'ledger_http_requests_total{method="GET",route="/rounds/{round_id}",status="200"}' in text
    assert "api_response_time_seconds_bucket" in text
    assert "ledger_projection_lag_events" in text
    assert "ledger_events " in text
    names = {s.name for s in spans.get_finished_spans()}
    assert "GET /rounds/{round_id}" in names
    assert not any("rnd-0000001" in n for n in names)


def test_openapi_security_per_route_and_metrics_hidden(client: TestClient[Litestar]) -> None:
    doc = client.get("/schema/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert "security" not in doc
    assert "/metrics" not in doc["paths"]
    assert doc["paths"]["/health"]["get"].get("security", []) == []
    post = doc["paths"]["/v1/events"]["post"]
    assert post["security"] == [{"BearerToken": []}]
    assert {"200", "201", "401", "403", "409", "422"} <= set(post["responses"])


@pytest.mark.parametrize(
    ("extra", "headers", "status"),
    [
        ({"ip_allow": ("10.0.0.0/8",)}, {}, 403),
        ({"ip_allow": ("127.0.0.0/8", "testclient/32")}, {}, 403),
        (
            {"client_cert_header": "X-Client-Cert", "client_cert_roles": {"CN=auditor-1,O=Reg": "auditor"}},
            {},
            200,
        ),
    ],
)
def test_ip_allow_list_and_client_certificates(
    settings: Settings, token: Token, extra: dict[str, Any], headers: dict[str, str], status: int
) -> None:
    import msgspec  # noqa: PLC0415

    s = msgspec.structs.replace(settings, auth=msgspec.structs.replace(settings.auth, **extra))
    catch_up_views(s)
    app = create_app(build_deps(s, record_access=False))
    with TestClient(app) as c:
        if "client_cert_header" in extra:
            # The test client's peer is not a trusted proxy: the header is ignored, a token is needed.
            assert (
                c.get("/ledger/verification", headers={"X-Client-Cert": "CN=auditor-1,O=Reg"}).status_code
                == 401
            )
            return
        r = c.get("/ledger/verification", headers=token("auditor") | headers)
        assert r.status_code == status
        assert c.get("/health").status_code == 200


def test_a_trailing_newline_in_an_identifier_is_a_validation_problem(
    client: TestClient[Litestar], token: Token
) -> None:
    reg = token("regulator_read")
    assert client.get("/regulator/audit?entity=BonusRule&id=rule-welcome", headers=reg).status_code == 200

    r = client.get("/regulator/audit?entity=BonusRule&id=rule-welcome%0A", headers=reg)

    body = _problem(r, 422, "validation")
    assert "regex" in body["detail"]


def test_a_reused_token_stops_working_when_it_expires(client: TestClient[Litestar], token: Token) -> None:
    short = token("auditor", ttl=2)
    assert client.get("/ledger/checkpoints/latest", headers=short).status_code != 401  # verified, cached
    assert client.get("/ledger/checkpoints/latest", headers=short).status_code != 401  # from the cache

    time.sleep(2.1)

    _problem(client.get("/ledger/checkpoints/latest", headers=short), 401, "unauthenticated")


def test_a_token_verified_by_one_app_is_not_trusted_by_an_app_with_another_key(
    settings: Settings, token: Token
) -> None:
    import msgspec  # noqa: PLC0415

    good = token("auditor")
    with TestClient(create_app(build_deps(settings, record_access=False))) as c:
        assert c.get("/ledger/checkpoints/latest", headers=good).status_code != 401
    other_auth = msgspec.structs.replace(settings.auth, secret="another-secret-" + "1" * 32)
    other = msgspec.structs.replace(settings, auth=other_auth)
    with TestClient(create_app(build_deps(other, record_access=False))) as c:
        _problem(c.get("/ledger/checkpoints/latest", headers=good), 401, "unauthenticated")


def test_parts_a_deployment_lacks_answer_one_503_problem(deps: ApiDeps, token: Token) -> None:
    bare = dataclasses.replace(deps, main=dataclasses.replace(deps.main, views=None), exporter=None)
    h = token("dispute_handler")
    with TestClient(create_app(bare)) as c:
        for path in ("/rounds/rnd-0000001", "/rounds/rnd-0000001/bundle"):
            body = _problem(c.get(path, headers=h), 503, "unavailable")
            assert body["detail"].endswith(" are not available in this deployment")
            assert "retry-after" not in c.get(path, headers=h).headers
