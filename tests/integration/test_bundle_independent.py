"""A second verifier written from docs/bundle-format.md alone, run on an exported bundle.

It imports nothing from the ledger: only the standard library and an Ed25519 primitive, as
a third party would. If the document and the exporter ever disagree, this test fails.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from infra.cipher import AesGcmFieldCipher
from infra.sqlite import SqliteEventStore, SqliteKeyTable, SqliteTreeStore
from ledger.application import Ledger
from ledger.bundle import ExportScope
from tests.conftest import KEK, FixedClock
from tests.integration.test_bundle import _verifier, build_history

TAG = b"audit-ledger/event/v1\x00"


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def node(left: bytes, right: bytes) -> bytes:
    return sha(b"\x01" + left + right)


def canon(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def inclusion_root(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2."""
    fn, sn, r = index, size - 1, leaf
    for p in path:
        assert sn != 0
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    assert sn == 0
    return r


def check_consistency(first: int, second: int, path: list[bytes], old: bytes, new: bytes) -> None:
    """RFC 9162 §2.1.4.2 (0 < first < second)."""
    if first & (first - 1) == 0:
        path = [old, *path]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        assert sn != 0
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    assert (sn, fr, sr) == (0, old, new)


def open_note(note: bytes, trusted: str) -> tuple[int, bytes]:
    """§2.4: check the body shape and an Ed25519 signature by the trusted key; return (size, root)."""
    vkey = trusted.split(maxsplit=1)[0]
    name, key_hash, blob = vkey.split("+")
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(blob)[1:])
    body, _, signatures = note.decode().rpartition("\n\n")
    lines = body.split("\n")
    assert [x.split(" ")[0] for x in lines[3:]] == ["timestamp", "batch", "manifest", "previous"]
    signed = False
    for line in signatures.splitlines():
        _, signer, sig = line.split(" ")
        raw = base64.b64decode(sig)
        if signer == name and raw[:4].hex() == key_hash:
            key.verify(raw[4:], (body + "\n").encode())
            signed = True
    assert signed
    return int(lines[1]), base64.b64decode(lines[2])


def independent_verify(data: bytes, trusted: str) -> int:
    """Follow §4 of the format document; return the number of events verified."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        m = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(m["bundle.json"])
    assert canon(manifest) == m["bundle.json"]
    digest = manifest.pop("digest")
    assert sha(canon(manifest)).hex() == digest
    assert set(manifest["files"]) == set(m) - {"bundle.json"}
    assert all(sha(m[n]).hex() == h for n, h in manifest["files"].items())
    roots = dict(open_note(m[n], trusted) for n in m if n.startswith("checkpoints/"))
    latest = manifest["checkpoint_size"]
    assert max(roots) == latest
    records = {int(n[8:28]): m[n] for n in m if n.startswith("records/")}
    for p, rec in records.items():
        proof = json.loads(m[f"proofs/inclusion/{p:020d}.json"])
        path = [bytes.fromhex(h) for h in proof["audit_path"]]
        assert proof["leaf_index"] == p
        assert inclusion_root(sha(b"\x00" + rec), p, proof["tree_size"], path) == roots[proof["tree_size"]]
    for chain in json.loads(m["chains.json"]):
        prev = bytes(32)
        for i, p in enumerate(chain["positions"]):
            record = json.loads(records[p])
            assert (record["event"]["stream"], record["ledger"]["stream_position"]) == (chain["stream"], i)
            assert record["ledger"]["prev_hash"] == prev.hex()
            prev = sha(TAG + prev + records[p])
        assert prev.hex() == chain["head_hash"]
    for size in set(roots) - {latest}:
        proof = json.loads(m[f"proofs/consistency/{size:020d}-{latest:020d}.json"])
        path = [bytes.fromhex(h) for h in proof["consistency_path"]]
        check_consistency(size, latest, path, roots[size], roots[latest])
    for n in (n for n in m if n.startswith("receipts/")):
        note = m[f"checkpoints/{n[9:29]}.note"]
        for receipt in json.loads(m[n])["receipts"]:
            payload = receipt["anchor"]["event"]["payload"]
            assert payload["checkpoint_hash"] == payload["object_sha256"] == sha(note).hex()
    return len(records)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[bytes], str]:
    tmp = tmp_path_factory.mktemp("independent")
    led = Ledger(
        SqliteEventStore(tmp / "ledger.sqlite3"),
        AesGcmFieldCipher(SqliteKeyTable(tmp / "keys.sqlite3"), KEK),
        FixedClock(),
    )
    store = SqliteTreeStore(tmp / "ledger.sqlite3")
    try:
        h = build_history(led, store, Path(tmp / "worm"))
        scopes = [ExportScope.stream("BonusRule:br-0"), ExportScope.round("r-1"), ExportScope.range(3, 40)]
        return [h.export(s) for s in scopes], _verifier(h.key).trusted_line()
    finally:
        store.close()
        led.close()


def test_the_document_is_enough_to_verify_a_bundle(exported: tuple[list[bytes], str]) -> None:
    bundles, trusted = exported
    # range 3:40 carries its streams from genesis up to the latest checkpoint (41 records)
    assert [independent_verify(b, trusted) for b in bundles] == [6, 3, 41]
