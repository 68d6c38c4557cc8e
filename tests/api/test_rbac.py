"""Every route of the app x every role: allowed exactly when the policy matrix says so."""

from __future__ import annotations

import re

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from policies.rbac import MATRIX, POLICY_VERSION, PUBLIC, ROLES, decide
from tests.api.conftest import Token

SAMPLE = {
    "event_id": "00000000-0000-4000-8000-000000000001",
    "size": "1",
    "round_id": "r-1",
    "case_id": "c-1",
    "player_ref": "plr-1",
    "event_type": "round",
}
QUERY = {
    "GET /regulator/audit": "?entity=BonusRule&id=br-welcome",
    "GET /sandbox/regulator/audit": "?entity=BonusRule&id=br-welcome",
    "GET /ledger/proofs/inclusion": "?position=0&size=1",
    "GET /ledger/proofs/consistency": "?from=0&to=1",
    "GET /ledger/export": "?start=0&end=1",
    "GET /regulator/reports/mga/compliance": "?day=2026-01-05",
    "GET /sandbox/regulator/reports/mga/compliance": "?day=2026-01-05",
}


_TYPED = re.compile(r"{(\w+):\w+}")


def app_routes(app: Litestar) -> set[str]:
    out = set()
    for route in app.routes:
        for method in getattr(route, "methods", set()):
            if method in {"HEAD", "OPTIONS"} or route.path.startswith("/schema"):
                continue
            template = _TYPED.sub(r"{\1}", route.path)
            out.add(f"{method} {template}")
    return out


def test_the_matrix_covers_exactly_the_apps_routes(app: Litestar) -> None:
    assert app_routes(app) == set(MATRIX) | PUBLIC


def test_decisions_carry_the_policy_version() -> None:
    d = decide(["auditor"], "GET /rounds/{round_id}")
    assert not d.allowed
    assert d.policy_version == POLICY_VERSION
    assert "dispute_handler" in d.reason
    assert not decide(["admin"], "GET /not/in/policy").allowed


def _url(route: str) -> tuple[str, str]:
    method, template = route.split(" ", 1)
    path = re.sub(r"{(\w+)}", lambda m: SAMPLE[m[1]], template)
    return method, path + QUERY.get(route, "")


@pytest.mark.parametrize("role", [*ROLES, None])
def test_every_route_for_every_role(client: TestClient[Litestar], token: Token, role: str | None) -> None:
    for route in sorted(set(MATRIX) | PUBLIC):
        method, url = _url(route)
        headers = token(role) if role else {}
        body: list[object] | None = [] if route == "POST /v1/events" else None
        r = client.request(method, url, headers=headers, json=body)
        if route in PUBLIC:
            assert r.status_code == 200, (route, role, r.text)
        elif role is None:
            assert r.status_code == 401, (route, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
        elif role in MATRIX[route]:
            assert r.status_code not in {401, 403}, (route, role, r.text)
        else:
            assert r.status_code == 403, (route, role, r.status_code, r.text)
            assert r.json()["type"].endswith("/forbidden")
