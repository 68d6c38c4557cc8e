"""A real S3 endpoint for tests: moto in server mode on 127.0.0.1, reached over HTTP by boto3.

Import the fixture into a test module (``from tests.s3 import s3_endpoint``). Nothing is
patched: requests go through botocore's HTTP stack to the server, so Object Lock, checksums
and conditional writes behave as moto implements them (see DEPENDENCIES.md for its limits).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from infra.worm import S3WormStore, s3_client

REGION = "eu-west-1"
CREDENTIALS = ("testing", "testing")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server on a free local port, for the whole session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def client(endpoint: str) -> Any:
    """A boto3 client for the test server (path addressing, dummy credentials)."""
    return s3_client(endpoint, REGION, CREDENTIALS)


def fresh_bucket(endpoint: str) -> tuple[Any, str]:
    """Create a new Object Lock bucket; return (client, bucket name)."""
    c = client(endpoint)
    bucket = f"worm-{uuid.uuid4().hex[:16]}"
    S3WormStore.create_bucket(c, bucket, REGION)
    return c, bucket
