"""An app over a temp SQLite ledger (demo data folded and sealed), tokens per role, spans in memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from api.access import AccessRecorder
from api.app import create_app
from api.deps import ApiDeps
from infra.cli.common import open_ledger
from infra.cli.token import issue_token
from infra.demo import chunks, demo_events
from infra.settings import Settings
from infra.wiring.api import build_deps
from infra.wiring.sandbox import catch_up_views

DEMO_EVENTS = 1500
Token = Callable[..., dict[str, str]]


def make_settings(root: Path, **extra: Any) -> Settings:
    base = {"data_dir": str(root), "auth": {"secret": "test-secret-" + "0" * 32}, "sandbox_events": 400}
    return msgspec.convert(base | extra, Settings)


def load_demo(settings: Settings, count: int = DEMO_EVENTS) -> None:
    with open_ledger(settings) as ledger:
        for _ in ledger.append_all(chunks(demo_events(count), 500)):
            pass
    catch_up_views(settings)


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ledger with the demo history, folded; copied per module by ``settings``."""
    root = tmp_path_factory.mktemp("api-demo")
    load_demo(make_settings(root))
    return root


@pytest.fixture
def settings(tmp_path: Path, demo_root: Path) -> Settings:
    import shutil  # noqa: PLC0415

    shutil.copytree(demo_root, tmp_path, dirs_exist_ok=True)
    return make_settings(tmp_path)


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def deps(settings: Settings, spans: InMemorySpanExporter) -> ApiDeps:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return build_deps(settings, tracer_provider=provider)  # closed by the app's shutdown


@pytest.fixture
def app(deps: ApiDeps) -> Litestar:
    return create_app(deps)


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def token(settings: Settings) -> Token:
    def make(*roles: str, sub: str = "tester", ttl: int = 600) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(settings, roles=list(roles), sub=sub, ttl=ttl)}"}

    return make


def recorder_of(app: Litestar) -> AccessRecorder:
    rec = app.state["access_recorder"]
    assert isinstance(rec, AccessRecorder)
    return rec
