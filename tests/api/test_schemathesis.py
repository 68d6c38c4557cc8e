"""schemathesis over every operation of /schema/openapi.json, in process, stateful phase included."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.app import create_app
from infra.cli.token import issue_token
from infra.wiring.api import build_deps
from policies.rbac import ROLES
from tests.api.conftest import load_demo, make_settings


def _app() -> Any:
    import tempfile  # noqa: PLC0415

    root = Path(tempfile.mkdtemp(prefix="api-schemathesis-"))
    s = make_settings(root)
    load_demo(s, 600)
    # The ASGI transport runs the lifespan around every call: keep the stores open across calls.
    app = create_app(dataclasses.replace(build_deps(s, record_access=False), on_shutdown=()))
    app.state["token"] = issue_token(s, roles=list(ROLES), sub="schemathesis", ttl=3600)
    return app


APP = _app()
schema = schemathesis.openapi.from_asgi("/schema/openapi.json", APP)


@schema.auth()
class BearerAuth:
    def get(self, case: Any, ctx: Any) -> str:  # noqa: ARG002
        return str(APP.state["token"])

    def set(self, case: Any, data: str, ctx: Any) -> None:  # noqa: ARG002
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


# The body schema cannot say which payload each of the catalogue's ~90 event types accepts
# (``payload`` is an object validated against the catalogue), so a schema-valid envelope with an
# unknown type is rightly a 422: the positive-acceptance check is the one check left out.
EXCLUDED = [positive_data_acceptance]


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation(case: Any) -> None:
    case.call_and_validate(excluded_checks=EXCLUDED)


@pytest.mark.slow
def test_stateful() -> None:
    base = schema.as_state_machine()

    class Workflow(base):  # type: ignore[valid-type, misc]
        def validate_response(self, response: Any, case: Any, *_: Any, **kwargs: Any) -> None:
            kwargs.pop("additional_checks", None)
            case.validate_response(response, excluded_checks=EXCLUDED, **kwargs)

    Workflow.run(settings=settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck)))
