"""Signed checkpoints (C2SP tlog-checkpoint + signed-note) and the Ed25519 keyring."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.signing import Ed25519Signer, Ed25519Verifier, Keyring, load_trusted
from ledger.catalogue.types import Timestamp
from ledger.checkpoint import (
    ZERO_HASH,
    Checkpoint,
    CheckpointError,
    ed25519_key_hash,
    manifest_of,
    note_hash,
    open_checkpoint,
    parse_checkpoint,
    sign_checkpoint,
)
from ledger.errors import ConflictError, NotFoundError, ValidationError, VerificationError

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ORIGIN = "audit-ledger.local/log"
SIGNER = Ed25519Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
TRUSTED = Ed25519Verifier(ORIGIN, SIGNER.public_key, "2020-01-01T00:00:00.000Z", None)
OTHER = Ed25519Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33))))

# golang.org/x/mod/sumdb/note's published example key and signed note (independent anchor).
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    b"If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
GO_SIG = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="


class SetClock:
    """A clock the test sets."""

    def __init__(self, when: str) -> None:
        self.ms = Timestamp.parse(when).epoch_ms()

    def set(self, when: str) -> None:
        self.ms = Timestamp.parse(when).epoch_ms()

    def now_ms(self) -> int:
        return self.ms


def checkpoint(**changes: object) -> Checkpoint:
    fields: dict[str, object] = {
        "origin": ORIGIN,
        "size": 1000,
        "root": hashlib.sha256(b"root").digest(),
        "timestamp": "2026-03-01T10:00:00.000Z",
        "first": 900,
        "manifest": manifest_of(hashlib.sha256(b"%d" % i).digest() for i in range(900, 1000)),
        "previous": ZERO_HASH,
    }
    return Checkpoint(**(fields | changes))  # type: ignore[arg-type]


NOTE = sign_checkpoint(checkpoint(), [SIGNER])

hashes = st.binary(min_size=32, max_size=32)
origins = st.text(
    st.characters(exclude_categories=["Z", "Cc", "Cs"], exclude_characters="+"), min_size=1, max_size=30
)
instants = st.integers(0, 253_402_300_799_999).map(lambda ms: Timestamp.from_epoch_ms(ms).canonical())


@st.composite
def checkpoints(draw: st.DrawFn) -> Checkpoint:
    size = draw(st.integers(1, 2**64 - 1))
    first = draw(st.integers(0, size - 1))
    return Checkpoint(
        origin=draw(origins), size=size, root=draw(hashes), timestamp=draw(instants),
        first=first, manifest=draw(hashes), previous=draw(hashes),
    )  # fmt: skip


# --- the signed-note spec ----------------------------------------------------------------


def test_key_hash_matches_the_signed_note_reference_vector() -> None:
    name, hash_hex, blob = GO_VKEY.split("+")
    public = base64.b64decode(blob)[1:]
    assert ed25519_key_hash(name, public).hex() == hash_hex == "c74f20a3"
    assert hashlib.sha256(b"PeterNeumann\n\x01" + public).digest()[:4] == bytes.fromhex("c74f20a3")


def test_signer_reproduces_the_reference_signature_line() -> None:
    seed = base64.b64decode(GO_SKEY.split("+", 4)[4])[1:]
    signer = Ed25519Signer("PeterNeumann", Ed25519PrivateKey.from_private_bytes(seed))
    assert base64.b64encode(signer.key_hash + signer.sign(GO_TEXT)).decode() == GO_SIG
    assert load_trusted(f"{GO_VKEY} 2020-01-01T00:00:00.000Z -")[0].vkey() == GO_VKEY


def test_note_shape() -> None:
    lines = NOTE.decode().split("\n")
    assert lines[:2] == [ORIGIN, "1000"]
    assert lines[3:7] == [
        "timestamp 2026-03-01T10:00:00.000Z",
        "batch 900 1000",
        f"manifest {checkpoint().manifest.hex()}",
        "previous " + "0" * 64,
    ]
    assert lines[7] == ""
    assert lines[8].startswith(f"\u2014 {ORIGIN} ")
    assert lines[9:] == [""]
    assert base64.b64decode(lines[8].split(" ")[2])[:4] == SIGNER.key_hash


# --- round trip and tamper evidence ------------------------------------------------------


@SETTINGS
@given(checkpoints())
def test_sign_then_open_round_trips(cp: Checkpoint) -> None:
    signer = Ed25519Signer(cp.origin, SIGNER._key)
    verifier = Ed25519Verifier(cp.origin, signer.public_key, "0001-01-01T00:00:00.000Z", None)
    note = sign_checkpoint(cp, [signer])
    assert open_checkpoint(note, [verifier]) == cp
    parsed, sigs = parse_checkpoint(note)
    assert parsed == cp
    assert [(n, h) for n, h, _ in sigs] == [(cp.origin, signer.key_hash)]


@SETTINGS
@given(st.data())
def test_any_single_byte_flip_is_detected(data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(NOTE) - 1), label="index")
    mask = data.draw(st.integers(1, 255), label="xor")
    flipped = NOTE[:i] + bytes([NOTE[i] ^ mask]) + NOTE[i + 1 :]
    with pytest.raises(CheckpointError):
        open_checkpoint(flipped, [TRUSTED])


def test_every_single_bit_flip_is_detected() -> None:
    for i in range(len(NOTE)):
        for bit in range(8):
            flipped = NOTE[:i] + bytes([NOTE[i] ^ (1 << bit)]) + NOTE[i + 1 :]
            with pytest.raises(CheckpointError):
                open_checkpoint(flipped, [TRUSTED])


def test_unknown_key_is_rejected() -> None:
    stranger = Ed25519Verifier(ORIGIN, OTHER.public_key, "2020-01-01T00:00:00.000Z", None)
    with pytest.raises(CheckpointError, match="unknown key") as err:
        open_checkpoint(NOTE, [stranger])
    assert err.value.field == "checkpoint.signature"
    assert isinstance(err.value, VerificationError)


def test_signatures_by_unknown_keys_are_ignored() -> None:
    stranger = Ed25519Signer("witness.example/w1", OTHER._key)
    note = sign_checkpoint(checkpoint(), [stranger, SIGNER])
    assert open_checkpoint(note, [TRUSTED]) == checkpoint()


def test_a_known_key_with_a_bad_signature_rejects_the_note() -> None:
    forged = NOTE + f"\u2014 {ORIGIN} {base64.b64encode(SIGNER.key_hash + bytes(64)).decode()}\n".encode()
    with pytest.raises(CheckpointError, match="signature invalid"):
        open_checkpoint(forged, [TRUSTED])


def test_same_name_other_key_hash_is_unknown() -> None:
    impostor = Ed25519Signer(ORIGIN, OTHER._key)
    with pytest.raises(CheckpointError, match="unknown key"):
        open_checkpoint(sign_checkpoint(checkpoint(), [impostor]), [TRUSTED])


# --- strict parsing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "line"),
    [
        (b"\n1000\n", b"\n01000\n", 2),
        (b"\n1000\n", b"\n 1000\n", 2),
        (b"\n1000\n", b"\n+1000\n", 2),
        (b"=\ntimestamp", b"\ntimestamp", 3),
        (b"timestamp 2026", b"timestamp  2026", 4),
        (b"10:00:00.000Z", b"10:00:00Z", 4),
        (b"10:00:00.000Z", b"10:00:00.000+00:00", 4),
        (b"batch 900 1000", b"batch 900 999", 5),
        (b"batch 900 1000", b"batch 1000 1000", 5),
        (b"batch 900 1000", b"Batch 900 1000", 5),
        (b"previous 00", b"previous 0", 7),
        (b"0000\n\n", b"0000 \n\n", 7),
        (b"\n\n\xe2\x80\x94", b"\nextra 1\n\n\xe2\x80\x94", 8),
        (b"\n\n\xe2\x80\x94 ", b"\n\n- ", 9),
    ],
)
def test_malformed_lines_are_named(old: bytes, new: bytes, line: int) -> None:
    assert NOTE.count(old) == 1
    with pytest.raises(CheckpointError) as err:
        parse_checkpoint(NOTE.replace(old, new))
    assert err.value.line == line
    assert str(err.value).startswith(f"{err.value.field}: line {line}: ")


def test_uppercase_hex_and_crlf_are_refused() -> None:
    manifest = checkpoint().manifest.hex()
    with pytest.raises(CheckpointError, match="line 6"):
        parse_checkpoint(NOTE.replace(manifest.encode(), manifest.upper().encode()))
    with pytest.raises(CheckpointError, match="control character"):
        parse_checkpoint(NOTE.replace(b"\n", b"\r\n"))


def test_non_canonical_base64_root_is_refused() -> None:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    root = base64.b64encode(checkpoint().root).decode()
    # 32 bytes end in one '=': the char before it carries 2 unused (zero) bits, so +1 decodes the same
    alt = root[:-2] + alphabet[alphabet.index(root[-2]) + 1] + "="
    assert base64.b64decode(alt) == checkpoint().root
    with pytest.raises(CheckpointError, match="line 3: expected standard base64"):
        parse_checkpoint(NOTE.replace(root.encode(), alt.encode()))


def test_missing_signatures_and_invalid_utf8_are_refused() -> None:
    body = checkpoint().body()
    with pytest.raises(CheckpointError, match="no blank line"):
        parse_checkpoint(body)
    with pytest.raises(CheckpointError, match="no signature lines"):
        parse_checkpoint(body + b"\n")
    with pytest.raises(CheckpointError, match="UTF-8"):
        parse_checkpoint(NOTE.replace(b"\xe2\x80\x94", b"\xe2\x80"))


def test_checkpoint_invariants() -> None:
    with pytest.raises(ValidationError) as err:
        checkpoint(first=1000)
    assert err.value.field == "size"
    with pytest.raises(ValidationError) as err:
        checkpoint(root=b"short")
    assert err.value.field == "root"
    with pytest.raises(ValidationError) as err:
        checkpoint(origin="has space")
    assert err.value.field == "origin"
    with pytest.raises(ValidationError) as err:
        checkpoint(timestamp="2026-03-01T10:00:00Z")
    assert err.value.field == "timestamp"
    assert bytes(32) == ZERO_HASH


def test_manifest_and_note_hash() -> None:
    leaves = [hashlib.sha256(b"%d" % i).digest() for i in range(3)]
    assert manifest_of(leaves) == hashlib.sha256(b"".join(leaves)).digest()
    assert manifest_of([]) == hashlib.sha256(b"").digest()
    with pytest.raises(ValidationError) as err:
        manifest_of([leaves[0], b"x"])
    assert err.value.field == "leaf_hashes[1]"
    assert note_hash(NOTE) == hashlib.sha256(NOTE).digest()


def test_signing_needs_a_signer() -> None:
    with pytest.raises(ValidationError):
        sign_checkpoint(checkpoint(), [])


# --- the keyring: rotation and validity windows ------------------------------------------


def test_retired_key_verifies_old_checkpoints_but_not_later_ones(tmp_path: Path) -> None:
    clock = SetClock("2026-01-01T00:00:00.000Z")
    ring = Keyring.init(tmp_path / "signing", ORIGIN, clock)
    old = ring.active_signer()
    clock.set("2026-06-01T00:00:00.000Z")
    ring.rotate()
    new = ring.active_signer()
    assert new.key_hash != old.key_hash
    trusted = load_trusted(ring.export_public())
    before = checkpoint(timestamp="2026-05-31T23:59:59.999Z")
    after = checkpoint(timestamp="2026-06-01T00:00:00.000Z")
    assert open_checkpoint(sign_checkpoint(before, [old]), trusted) == before
    assert open_checkpoint(sign_checkpoint(after, [new]), trusted) == after
    with pytest.raises(CheckpointError, match=r"not valid at timestamp 2026-06-01T00:00:00\.000Z"):
        open_checkpoint(sign_checkpoint(after, [old]), trusted)
    with pytest.raises(CheckpointError, match="not valid at timestamp"):
        open_checkpoint(sign_checkpoint(before, [new]), trusted)
    with pytest.raises(CheckpointError, match="not valid at timestamp"):
        open_checkpoint(sign_checkpoint(checkpoint(timestamp="2025-12-31T23:59:59.999Z"), [old]), trusted)


def test_keyring_files_and_permissions(tmp_path: Path) -> None:
    ring = Keyring.init(tmp_path / "signing", ORIGIN, SetClock("2026-01-01T00:00:00.000Z"))
    doc = json.loads((tmp_path / "signing" / "keyring.json").read_text())
    (entry,) = doc["keys"]
    signer = ring.active_signer()
    assert entry["key_hash"] == signer.key_hash.hex()
    assert entry["public_key"] == base64.b64encode(signer.public_key).decode()
    assert (entry["valid_from"], entry["retired_at"]) == ("2026-01-01T00:00:00.000Z", None)
    key_file = tmp_path / "signing" / entry["private_key_file"]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in key_file.read_bytes()
    assert signer.public_key.hex() not in json.dumps(doc)  # base64 only; no private material
    with pytest.raises(ConflictError):
        Keyring.init(tmp_path / "signing", ORIGIN)


def test_keyring_refuses_a_swapped_private_key(tmp_path: Path) -> None:
    ring = Keyring.init(tmp_path, ORIGIN)
    (entry,) = json.loads((tmp_path / "keyring.json").read_text())["keys"]
    other = tmp_path / "other"
    Keyring.init(other, ORIGIN)
    (other_entry,) = json.loads((other / "keyring.json").read_text())["keys"]
    path = tmp_path / entry["private_key_file"]
    path.unlink()
    path.write_bytes((other / other_entry["private_key_file"]).read_bytes())
    with pytest.raises(VerificationError, match="expected key hash"):
        ring.active_signer()


def test_missing_keyring_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="ledger keys init"):
        Keyring(tmp_path / "none").active_signer()
    with pytest.raises(NotFoundError):
        Keyring(tmp_path / "none").rotate()


@pytest.mark.parametrize(
    "line",
    [
        "not-a-key 2026-01-01T00:00:00.000Z -",
        f"{GO_VKEY} 2026-01-01T00:00:00.000Z",
        f"{GO_VKEY} 2026-01-01 -",
        GO_VKEY.replace("c74f20a3", "c74f20a4") + " 2026-01-01T00:00:00.000Z -",
        GO_VKEY.replace("+AR", "+Ah") + " 2026-01-01T00:00:00.000Z -",
    ],
)
def test_malformed_trusted_key_lines_are_named(line: str) -> None:
    with pytest.raises(ValidationError) as err:
        load_trusted(f"# comment\n\n{line}\n")
    assert err.value.field == "trusted_key.line[3]"


def test_empty_trusted_key_file_is_refused() -> None:
    with pytest.raises(ValidationError):
        load_trusted("# nothing\n")
