"""Evidence bundles from a real ledger: export, verify offline, and every tampering located."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.backend import Backend
from infra.cipher import AesGcmFieldCipher
from infra.signing import Ed25519Signer, Ed25519Verifier
from infra.sqlite import SqliteEventStore, SqliteKeyTable, SqliteTreeStore
from infra.worm import LocalWormStore
from ledger.application import Ledger
from ledger.bundle import (
    MANIFEST,
    BundleError,
    ExportScope,
    Scope,
    build_bundle,
    export_bundle,
    verify_bundle,
)
from ledger.encoding import canonical
from ledger.errors import NotFoundError, ValidationError
from ledger.merkle_log import MerkleLog, TreeStore
from ledger.sealer import Sealer
from tests.conftest import KEK, FixedClock
from tests.factories import Events, realistic

ORIGIN = "audit-ledger.test/log"
CREATED = "2026-02-01T00:00:00.000Z"
GAME_HASH = "ab" * 32


def _retention(types: object, sealed_at: str) -> tuple[str, str, str]:
    return "2036-01-01T00:00:00.000Z", "game_rounds", "retention-test.1"


def _key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


def _verifier(key: Ed25519PrivateKey, name: str = ORIGIN) -> Ed25519Verifier:
    return Ed25519Verifier(name, key.public_key().public_bytes_raw(), "2025-01-01T00:00:00.000Z", None)


def round_events(events: Events, round_id: str, steps: int = 3) -> list[dict[str, Any]]:
    base = {"round_id": round_id, "player_ref": "plr-7", "game_code": "starburst"}
    return [
        events.envelope(
            "round.started", f"Round:{round_id}", base | {"step": i, "game_version_hash": GAME_HASH}
        )
        if i == 0
        else events.envelope(
            "round.retried",
            f"Round:{round_id}",
            base | {"step": i, "operation": "outcome", "attempt": i, "reason": "RNG timeout"},
        )
        for i in range(steps)
    ]


@dataclass
class History:
    ledger: Ledger
    tree_store: TreeStore
    tree: MerkleLog
    sealer: Sealer
    key: Ed25519PrivateKey

    def export(self, scope: ExportScope) -> bytes:
        data, _ = export_bundle(
            self.ledger.store,
            self.tree,
            self.tree_store,
            "# keys\n",
            scope,
            origin=ORIGIN,
            created_at=CREATED,
        )
        return data


def build_history(ledger: Ledger, tree_store: TreeStore, worm_dir: Path) -> History:
    """Three sealed batches (with WORM anchors), then two unsealed events."""
    key = _key(7)
    sealer = Sealer(
        ledger,
        ledger.store,
        tree_store,
        lambda: Ed25519Signer(ORIGIN, key),
        LocalWormStore(worm_dir),
        FixedClock(),
        _retention,
        origin=ORIGIN,
        jurisdiction="MT",
    )
    events = Events(seed=3)
    batches = [
        realistic(events, 24, streams=6),
        round_events(events, "r-1"),
        realistic(events, 12, streams=6),
    ]
    for batch in batches:
        ledger.append(batch)
        sealer.seal()
    ledger.append(realistic(events, 2, streams=6))
    return History(ledger, tree_store, MerkleLog(tree_store), sealer, key)


def rewrite(data: bytes, change: Callable[[dict[str, bytes]], None], *, redigest: bool) -> bytes:
    """Rebuild the zip after ``change`` edits its members; optionally recompute bundle.json digests."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    change(members)
    if redigest:
        manifest = msgspec.json.decode(members[MANIFEST])
        manifest["files"] = {n: hashlib.sha256(b).hexdigest() for n, b in members.items() if n != MANIFEST}
        manifest.pop("digest")
        manifest["digest"] = hashlib.sha256(canonical(manifest)).hexdigest()
        members[MANIFEST] = canonical(manifest)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    return buf.getvalue()


def flip(name: str, offset: int, bit: int) -> Callable[[dict[str, bytes]], None]:
    def change(members: dict[str, bytes]) -> None:
        b = bytearray(members[name])
        b[offset % len(b)] ^= 1 << bit
        members[name] = bytes(b)

    return change


def names(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.namelist()


@pytest.fixture
def history(ledger: Ledger, backend: Backend, tmp_path: Path) -> Iterator[History]:
    store = backend.tree()
    yield build_history(ledger, store, tmp_path / "worm")
    store.close()


@dataclass(frozen=True)
class Shared:
    data: bytes = dataclasses.field(repr=False)
    verifier: Ed25519Verifier = dataclasses.field(repr=False)


@pytest.fixture(scope="module")
def sqlite_bundle(tmp_path_factory: pytest.TempPathFactory) -> Shared:
    """One stream bundle from a SQLite ledger, shared by the hypothesis tests (read-only)."""
    tmp = tmp_path_factory.mktemp("bundle")
    led = Ledger(
        SqliteEventStore(tmp / "ledger.sqlite3"),
        AesGcmFieldCipher(SqliteKeyTable(tmp / "keys.sqlite3"), KEK),
        FixedClock(),
    )
    store = SqliteTreeStore(tmp / "ledger.sqlite3")
    try:
        h = build_history(led, store, tmp / "worm")
        data = h.export(ExportScope.round("r-1", extra=[0, 1]))
        return Shared(data, _verifier(h.key))
    finally:
        store.close()
        led.close()


# --- clean bundles ------------------------------------------------------------------------------


def test_stream_bundle_verifies_from_genesis(history: History) -> None:
    data, summary = export_bundle(
        history.ledger.store,
        history.tree,
        history.tree_store,
        "# keys\n",
        ExportScope.stream("BonusRule:br-0"),
        origin=ORIGIN,
        created_at=CREATED,
    )
    report = verify_bundle(data, [_verifier(history.key)])
    stream = history.ledger.history("BonusRule:br-0")
    sealed = [e for e in stream if e.position < summary.checkpoint_size]
    assert report.events == summary.events == len(sealed) == 6
    assert report.streams == 1
    assert report.checkpoints == summary.checkpoints >= 2
    # the latest checkpoint's own anchor is sealed only by the next seal
    assert report.receipts == summary.receipts == report.checkpoints - 1
    assert summary.receipts_pending == 1
    assert summary.left_out == len(stream) - len(sealed) == 1
    assert summary.reason is not None
    assert "ledger seal" in summary.reason
    assert any(n.startswith("proofs/consistency/") for n in names(data))


def test_round_bundle_with_extra_events_carries_their_chains(history: History) -> None:
    data = history.export(ExportScope.round("r-1", extra=[0]))
    report = verify_bundle(data, [_verifier(history.key)])
    assert report.scope == "round r-1"
    assert report.scope_events == 4
    assert report.streams == 2  # Round:r-1 and the stream of position 0 (BonusRule:br-0)
    assert report.events == 3 + 6


def test_range_bundle_holds_every_position(history: History) -> None:
    data = history.export(ExportScope.range(20, 30))
    report = verify_bundle(data, [_verifier(history.key)])
    assert report.scope_events == 10
    assert report.events >= 10


def test_export_is_deterministic(history: History) -> None:
    scope = ExportScope.stream("Limit:lim-2")
    assert history.export(scope) == history.export(scope)


def test_nothing_sealed_and_unknown_stream(history: History) -> None:
    with pytest.raises(NotFoundError, match="no events"):
        history.export(ExportScope.stream("BonusRule:nope"))


def test_no_checkpoint_says_run_seal(ledger: Ledger, tmp_path: Path) -> None:
    ledger.append(realistic(Events(), 3))
    store = SqliteTreeStore(tmp_path / "tree.sqlite3")
    try:
        with pytest.raises(NotFoundError, match="ledger seal"):
            export_bundle(
                ledger.store,
                MerkleLog(store),
                store,
                "",
                ExportScope.stream("BonusRule:br-0"),
                origin=ORIGIN,
                created_at=CREATED,
            )
    finally:
        store.close()


# --- tampering --------------------------------------------------------------------------------


def test_untrusted_key_is_rejected(history: History) -> None:
    data = history.export(ExportScope.stream("BonusRule:br-0"))
    with pytest.raises(BundleError, match="unknown key") as e:
        verify_bundle(data, [_verifier(_key(9))])
    assert e.value.checkpoint is not None
    assert e.value.file == f"checkpoints/{e.value.checkpoint:020d}.note"


def test_missing_record_mid_chain_is_a_completeness_failure(history: History) -> None:
    data = history.export(ExportScope.stream("BonusRule:br-0"))
    chains = msgspec.json.decode(zipfile.ZipFile(io.BytesIO(data)).read("chains.json"))
    gone = chains[0]["positions"][3]

    def drop(members: dict[str, bytes]) -> None:
        """Remove one revision consistently everywhere a careless forger would."""
        del members[f"records/{gone:020d}.bin"]
        del members[f"proofs/inclusion/{gone:020d}.json"]
        chains[0]["positions"].remove(gone)
        members["chains.json"] = canonical(chains)
        lines = members["events.ndjson"].splitlines(keepends=True)
        members["events.ndjson"] = b"".join(x for x in lines if msgspec.json.decode(x)["position"] != gone)
        manifest = msgspec.json.decode(members[MANIFEST])
        manifest["scope"]["positions"].remove(gone)
        manifest["counts"]["events"] -= 1
        members[MANIFEST] = canonical(manifest)

    with pytest.raises(BundleError, match="incomplete chain") as e:
        verify_bundle(rewrite(data, drop, redigest=True), [_verifier(history.key)])
    assert e.value.stream == "BonusRule:br-0"
    assert e.value.expected == "3"
    assert e.value.found == "4"


def test_altered_record_with_recomputed_digests_is_located(history: History) -> None:
    data = history.export(ExportScope.stream("FeatureFlag:flag-1"))
    target = next(n for n in names(data) if n.startswith("records/"))
    tampered = rewrite(data, flip(target, 200, 0), redigest=True)
    with pytest.raises(BundleError) as e:
        verify_bundle(tampered, [_verifier(history.key)])
    assert e.value.position == int(target[8:28])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(member=st.integers(min_value=0), offset=st.integers(min_value=0), bit=st.integers(0, 7))
def test_any_flipped_byte_is_caught_and_located(
    sqlite_bundle: Shared, member: int, offset: int, bit: int
) -> None:
    data, verifier = sqlite_bundle.data, sqlite_bundle.verifier
    all_names = names(data)
    name = all_names[member % len(all_names)]
    with pytest.raises(BundleError) as e:
        verify_bundle(rewrite(data, flip(name, offset, bit), redigest=False), [verifier])
    assert e.value.file == name


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(member=st.integers(min_value=0), offset=st.integers(min_value=0), bit=st.integers(0, 7))
def test_any_flip_is_caught_even_with_recomputed_digests(
    sqlite_bundle: Shared, member: int, offset: int, bit: int
) -> None:
    """A forger who also rewrites bundle.json is still caught by the content checks.

    Only ``keys/public.txt`` (informational by design) and ``bundle.json`` itself (rewritten)
    are exempt: receipts are anchor events proven in the log like any other.
    """
    data, verifier = sqlite_bundle.data, sqlite_bundle.verifier
    checked = [n for n in names(data) if n not in {MANIFEST, "keys/public.txt"}]
    name = checked[member % len(checked)]
    with pytest.raises(BundleError):
        verify_bundle(rewrite(data, flip(name, offset, bit), redigest=True), [verifier])


def test_clean_shared_bundle_verifies(sqlite_bundle: Shared) -> None:
    data, verifier = sqlite_bundle.data, sqlite_bundle.verifier
    report = verify_bundle(data, [verifier])
    assert report.scope_events == 5


def test_extra_or_missing_members_are_named(sqlite_bundle: Shared) -> None:
    data, verifier = sqlite_bundle.data, sqlite_bundle.verifier

    def add(members: dict[str, bytes]) -> None:
        members["notes.txt"] = b"trust me"

    with pytest.raises(BundleError, match="not listed") as e:
        verify_bundle(rewrite(data, add, redigest=False), [verifier])
    assert e.value.file == "notes.txt"
    with pytest.raises(BundleError, match="no file of format v1"):
        verify_bundle(rewrite(data, add, redigest=True), [verifier])

    def drop_consistency(members: dict[str, bytes]) -> None:
        for name in [n for n in members if n.startswith("proofs/consistency/")]:
            del members[name]

    with pytest.raises(BundleError, match="no consistency proof") as e:
        verify_bundle(rewrite(data, drop_consistency, redigest=True), [verifier])
    assert e.value.checkpoint is not None


def test_builder_refuses_a_chain_not_from_genesis(sqlite_bundle: Shared) -> None:
    with zipfile.ZipFile(io.BytesIO(sqlite_bundle.data)) as zf:
        last = max(n for n in zf.namelist() if n.startswith("records/"))
        record = zf.read(last)
    with pytest.raises(ValidationError, match="from genesis"):
        build_bundle(
            origin=ORIGIN,
            created_at=CREATED,
            scope=Scope(kind="range", value="0:1", positions=[]),
            records={int(last[8:28]): record},
            notes={1: b""},
            inclusion={},
            consistency=[],
            receipts={},
            keyring="",
        )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(member=st.integers(min_value=0))
def test_any_dropped_member_is_caught(sqlite_bundle: Shared, member: int) -> None:
    data, verifier = sqlite_bundle.data, sqlite_bundle.verifier
    all_names = names(data)
    name = all_names[member % len(all_names)]

    def drop(members: dict[str, bytes]) -> None:
        del members[name]

    with pytest.raises(BundleError):
        verify_bundle(rewrite(data, drop, redigest=name != MANIFEST), [verifier])


def test_a_second_spelling_of_the_same_proof_is_refused(sqlite_bundle: Shared) -> None:
    """Hex with a trailing escaped newline decodes to the same bytes; it must still be refused."""
    data, verifier = sqlite_bundle.data, sqlite_bundle.verifier
    target = next(n for n in names(data) if n.startswith("proofs/inclusion/"))

    def respell(members: dict[str, bytes]) -> None:
        members[target] = members[target].replace(b'"],"leaf_index"', b'\\n"],"leaf_index"', 1)

    with pytest.raises(BundleError, match="not a valid InclusionFile") as e:
        verify_bundle(rewrite(data, respell, redigest=True), [verifier])
    assert e.value.file == target
