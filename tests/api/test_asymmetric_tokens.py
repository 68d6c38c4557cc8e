"""Production token verification: EdDSA and RS256 public keys (HS256 is for development only)."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from litestar.testing import TestClient

from api.app import create_app
from infra.cli.token import issue_token
from infra.settings import Settings
from infra.wiring.api import build_deps
from ledger.errors import ValidationError

PrivateKey = ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey


def write_pair(folder: Path, name: str, key: PrivateKey) -> tuple[str, str]:
    private, public = folder / f"{name}.pem", folder / f"{name}.pub.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return str(private), str(public)


@pytest.mark.parametrize(
    ("algorithm", "make_key"),
    [
        ("EdDSA", ed25519.Ed25519PrivateKey.generate),
        ("RS256", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    ],
)
def test_tokens_signed_with_the_configured_key_pass_and_others_are_401(
    settings: Settings, tmp_path: Path, algorithm: str, make_key: object
) -> None:
    assert callable(make_key)
    private, public = write_pair(tmp_path, "issuer", make_key())
    other_private, _ = write_pair(tmp_path, "other", make_key())
    auth = msgspec.structs.replace(
        settings.auth, algorithm=algorithm, secret=None, public_key_path=public, private_key_path=private
    )
    s = msgspec.structs.replace(settings, auth=auth)
    forged = msgspec.structs.replace(s, auth=msgspec.structs.replace(auth, private_key_path=other_private))
    good = issue_token(s, roles=["auditor"], sub="aud-1", ttl=600)
    bad = issue_token(forged, roles=["auditor"], sub="aud-1", ttl=600)

    with TestClient(create_app(build_deps(s, record_access=False))) as c:
        ok = c.get("/ledger/verification", headers={"Authorization": f"Bearer {good}"})
        rejected = c.get("/ledger/verification", headers={"Authorization": f"Bearer {bad}"})

    assert ok.status_code in {200, 404}  # 404: no verification has run yet; either way authenticated
    assert rejected.status_code == 401
    assert rejected.headers["content-type"].startswith("application/problem+json")


def test_an_asymmetric_algorithm_without_a_public_key_is_a_named_configuration_error(
    settings: Settings,
) -> None:
    auth = msgspec.structs.replace(settings.auth, algorithm="EdDSA", public_key_path=None)
    s = msgspec.structs.replace(settings, auth=auth)

    with pytest.raises(ValidationError) as err:
        build_deps(s, record_access=False)

    assert err.value.field == "LEDGER_JWT_PUBLIC_KEY_FILE"
