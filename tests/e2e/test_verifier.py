"""``ledger-verifier`` (infra/deploy/verifier.py) against a stand-in API on a loopback port."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from infra.deploy.verifier import EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE, main


class _Api(BaseHTTPRequestHandler):
    answer: ClassVar[tuple[int, dict[str, Any]]] = (200, {})
    seen: ClassVar[list[tuple[str, str]]] = []

    def do_POST(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization", "")))
        status, body = self.answer
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture
def api() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Api.seen.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_ok_failed_and_refused_have_their_exit_codes(
    api: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = tmp_path / "token"
    token.write_text("tok-1\n")
    _Api.answer = (200, {"ok": True, "finished_at": "t", "result": {"events": 5, "checkpoints": 1}})
    assert main([api, "--once", "--token-file", str(token)], env={}) == EXIT_OK
    assert _Api.seen == [("/admin/verification", "Bearer tok-1")]
    assert "verifier: OK at t: 5 events, 1 checkpoints" in capsys.readouterr().out

    _Api.answer = (200, {"ok": False, "finished_at": "t", "result": {"failure": {"message": "event 7: x"}}})
    assert main([api, "--once", "--token-file", str(token)], env={}) == EXIT_FAILED
    assert "FAILED at t: event 7: x" in capsys.readouterr().err

    _Api.answer = (401, {"title": "Unauthorized"})
    assert main([api, "--once", "--token-file", str(token)], env={}) == EXIT_UNAVAILABLE
    assert "HTTP 401" in capsys.readouterr().err


def test_without_a_token_file_it_signs_an_admin_token_from_the_settings(api: str) -> None:
    _Api.answer = (200, {"ok": True, "finished_at": "t", "result": {}})
    env = {"LEDGER_JWT_SECRET": "s" * 40}
    assert main([api, "--once"], env=env) == EXIT_OK
    import jwt  # noqa: PLC0415

    claims = jwt.decode(
        _Api.seen[0][1].removeprefix("Bearer "), "s" * 40, algorithms=["HS256"], audience="audit-ledger-api"
    )
    assert claims["roles"] == ["admin"]


def test_no_api_is_unavailable(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("t")
    assert (
        main(["http://127.0.0.1:9", "--once", "--token-file", str(token), "--timeout", "2"], env={})
        == EXIT_UNAVAILABLE
    )
