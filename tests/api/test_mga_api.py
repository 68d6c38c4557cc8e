"""GET /regulator/reports/mga/compliance: XML for regulators, problem+json otherwise, reads recorded."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from lxml import etree

from api.app import create_app
from api.deps import ApiDeps
from policies.rbac import REGULATOR, ROLES
from tests.api.conftest import Token, recorder_of
from tests.api.test_api import _problem

XSD = Path(__file__).parents[1] / "vectors" / "mga" / "B2CSmryCompliance.xsd"
ROUTE = "/regulator/reports/mga/compliance"


@pytest.mark.parametrize("base", ["/regulator", "/sandbox/regulator"])
def test_a_regulator_gets_a_valid_report(client: TestClient[Litestar], token: Token, base: str) -> None:
    r = client.get(f"{base}/reports/mga/compliance?day=2026-01-05", headers=token(REGULATOR))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/xml"
    assert r.headers["content-disposition"] == 'inline; filename="B2CCompSmryRpt-2026-01-05.xml"'
    report = etree.fromstring(r.content)
    etree.XMLSchema(etree.parse(XSD)).assertValid(report)
    assert report.findtext("{MGA}Header/RprtStrtDt") == "2026-01-05T00:00:00Z"


def test_other_roles_are_forbidden(client: TestClient[Litestar], token: Token) -> None:
    for role in sorted(set(ROLES) - {REGULATOR}):
        body = _problem(client.get(f"{ROUTE}?day=2026-01-05", headers=token(role)), 403, "forbidden")
        assert "regulator_read" in body["detail"]


def test_bad_days_and_rates_are_422_and_a_day_without_facts_is_404(
    client: TestClient[Litestar], token: Token
) -> None:
    reg = token(REGULATOR)
    for query, detail in (
        ("day=5.1.2026", "Expected `str` matching regex"),
        ("day=2026-02-30", "2026-02-30: day is out of range for month"),
        ("day=2009-12-31", "between 2010 and 2099"),
        ("day=2026-01-05&base_rates=GBP=0", "expected CCY=RATE items"),
    ):
        body = _problem(client.get(f"{ROUTE}?{query}", headers=reg), 422, "validation")
        assert detail in body["detail"], body
        assert body["field"] in {"day", "base_rates"}
    _problem(client.get(ROUTE, headers=reg), 422, "validation")
    missing = _problem(client.get(f"{ROUTE}?day=2026-01-09", headers=reg), 404, "not-found")
    assert missing["detail"] == "no report facts on 2026-01-09 for MT"


def test_the_regulators_read_is_recorded(app: Litestar, client: TestClient[Litestar], token: Token) -> None:
    reg = token(REGULATOR, sub="inspector-mga")
    assert client.get(f"{ROUTE}?day=2026-01-05", headers=reg).status_code == 200
    recorder_of(app).flush()
    read = client.get("/regulator/logs/access?limit=20", headers=reg).json()["events"]
    access = [e["payload"] for e in read if e["stream"] == "Access:inspector-mga"]
    assert len(access) == 1
    assert {k: access[0][k] for k in ("role", "route", "query", "status", "sandbox")} == {
        "role": REGULATOR,
        "route": ROUTE,
        "query": {"day": "2026-01-05"},
        "status": 200,
        "sandbox": False,
    }


def test_without_reporting_wired_the_route_is_503(deps: ApiDeps, token: Token) -> None:
    app = create_app(dataclasses.replace(deps, reporting=None, record_access=False))
    with TestClient(app) as c:
        body = _problem(
            c.get(f"{ROUTE}?day=2026-01-05", headers=token(REGULATOR)), 503, "storage-unavailable"
        )
    assert body["detail"] == "regulator reports are not available in this deployment"
