"""Sealing into signed, WORM-anchored checkpoints, crash recovery, and whole-ledger verification.

Every tampering case edits the real database or WORM folder behind the ledger's back and
must be caught, located, by ``verify_ledger``.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from infra.backend import Backend
from infra.signing import Ed25519Signer, Ed25519Verifier
from infra.worm import LocalWormStore, S3WormStore
from ledger.application import Ledger
from ledger.chain import StoredColumns, StoredRecord, event_hash
from ledger.checkpoint import open_checkpoint
from ledger.encoding import decode_content, decode_record
from ledger.errors import ChainError, StorageError
from ledger.merkle import leaf_hash, root_of
from ledger.merkle_log import MerkleLog, TreeStore
from ledger.sealer import Sealer, follow
from ledger.verify import LedgerReport, iter_store, verify_ledger, verify_log
from ledger.worm import WormReceipt, WormStore, checkpoint_key
from policies.retention import POLICY_VERSION, retain_until
from tests.conftest import FixedClock
from tests.factories import Events, realistic
from tests.integration.test_tamper import RawDb
from tests.s3 import client, fresh_bucket, s3_endpoint

__all__ = ["s3_endpoint"]  # the session fixture, imported for pytest

ORIGIN = "test.audit-ledger/log"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
SIGNER = Ed25519Signer(ORIGIN, KEY)
VERIFIER = Ed25519Verifier(ORIGIN, SIGNER.public_key, "2000-01-01T00:00:00.000Z", None)


def retention(types: object, sealed_at: str) -> tuple[str, str, str]:
    until, category = retain_until(types, sealed_at)  # type: ignore[arg-type]
    return until, category, POLICY_VERSION


@dataclass
class Rig:
    ledger: Ledger
    tree_store: TreeStore
    worm: WormStore
    worm_dir: Path
    raw: RawDb

    def sealer(self, worm: WormStore | None = None) -> Sealer:
        return Sealer(
            self.ledger,
            self.ledger.store,
            self.tree_store,
            lambda: SIGNER,
            worm or self.worm,
            FixedClock(1_790_000_000_000),
            retention,
            origin=ORIGIN,
            jurisdiction="MT",
        )

    def verify(self, records: Iterable[StoredRecord | StoredColumns] | None = None) -> LedgerReport:
        store = self.ledger.store
        return verify_ledger(
            iter_store(store.read) if records is None else records,
            store.heads(),
            self.tree_store.checkpoints(),
            [VERIFIER],
            tree=MerkleLog(self.tree_store),
            worm=self.worm,
            origin=ORIGIN,
            reread_heads=store.heads,
        )


@pytest.fixture
def rig(ledger: Ledger, backend: Backend, tmp_path: Path) -> Iterator[Rig]:
    tree = backend.tree()
    worm_dir = tmp_path / "worm"
    yield Rig(ledger, tree, LocalWormStore(worm_dir), worm_dir, RawDb(backend))
    tree.close()


def fill(rig: Rig, count: int = 120, seed: int = 0) -> None:
    rig.ledger.append(realistic(Events(seed), count, streams=12))


def anchors(rig: Rig) -> list[int]:
    return [int(e.payload["checkpoint_size"]) for e in rig.ledger.history("Anchor:local")]


def test_seal_signs_the_rfc9162_root_of_every_record_and_anchors_it(rig: Rig) -> None:
    fill(rig)
    result = rig.sealer().seal()

    records = rig.ledger.store.read(0, 1000)
    assert result.checkpoint is not None
    assert result.checkpoint.size == 120
    assert result.checkpoint.root == root_of([leaf_hash(r.data) for r in records[:120]])
    note = rig.tree_store.checkpoint(120)
    assert note is not None
    assert open_checkpoint(note, [VERIFIER]).root == result.checkpoint.root
    assert rig.worm.get(checkpoint_key(ORIGIN, 120)) == note
    [receipt] = result.anchored
    types = {decode_content(decode_record(r.data).event).type for r in records[:120]}
    assert receipt.retain_until == retain_until(types, result.checkpoint.timestamp)[0]
    assert anchors(rig) == [120]
    assert rig.ledger.store.size() == 121  # the anchor receipt is itself a ledger event
    report = rig.verify()
    assert (report.events, report.checkpoints, report.worm_objects) == (121, 1, 1)


def test_the_anchor_event_is_sealed_by_the_next_checkpoint_and_checkpoints_chain(rig: Rig) -> None:
    fill(rig)
    sealer = rig.sealer()
    first = sealer.seal().checkpoint
    assert sealer.unsealed_counts(1000) == (1, 0)  # only the anchor waits: no producer events
    second = sealer.seal().checkpoint
    fill(rig, 30, seed=1)
    third = sealer.seal().checkpoint

    assert first is not None
    assert second is not None
    assert third is not None
    assert (second.first, second.size) == (120, 121)
    assert (third.first, third.size) == (121, 152)
    assert anchors(rig) == [120, 121, 152]
    assert rig.verify().checkpoints == 3


def test_follow_seals_at_the_event_threshold_and_stops(rig: Rig) -> None:
    fill(rig, 50)
    sealer = rig.sealer()
    sizes: list[int] = []

    def report(result: object) -> None:
        cp = getattr(result, "checkpoint", None)
        sizes.append(cp.size if cp is not None else -1)
        if len(sizes) == 1:
            stop.set()

    stop = threading.Event()
    follow(sealer, every=40, interval=3600, report=report, stop=stop, poll=0.01)
    assert sizes == [50]


def test_a_crash_after_extending_the_tree_resumes_into_one_checkpoint(rig: Rig) -> None:
    fill(rig)
    rig.sealer().tree.append_leaves([leaf_hash(r.data) for r in rig.ledger.store.read(0, 70)])

    result = rig.sealer().seal()

    assert result.leaves_added == 50
    assert result.checkpoint is not None
    assert (result.checkpoint.first, result.checkpoint.size) == (0, 120)
    rig.verify()


class FailingWorm:
    """The real WORM store with one injected fault (before or after the write lands)."""

    def __init__(self, inner: WormStore, *, after_write: bool) -> None:
        self.inner, self.after_write = inner, after_write
        self.kind = "local"

    def put(self, key: str, data: bytes, retain_until: str) -> WormReceipt:
        if self.after_write:
            self.inner.put(key, data, retain_until)
        msg = "injected WORM fault"
        raise StorageError(msg)

    def get(self, key: str) -> bytes:
        return self.inner.get(key)

    def head(self, key: str) -> WormReceipt:
        return self.inner.head(key)

    def keys(self, prefix: str = "") -> list[str]:
        return self.inner.keys(prefix)


@pytest.mark.parametrize("after_write", [False, True], ids=["before-write", "after-write"])
def test_a_failed_anchor_is_retried_by_the_next_seal_exactly_once(rig: Rig, after_write: bool) -> None:
    fill(rig)
    with pytest.raises(StorageError, match="injected"):
        rig.sealer(FailingWorm(rig.worm, after_write=after_write)).seal()
    assert rig.tree_store.checkpoint(120) is not None
    assert anchors(rig) == []

    result = rig.sealer().seal()

    assert anchors(rig) == [120]
    assert [r.key for r in result.anchored] == [checkpoint_key(ORIGIN, 120)]
    rig.verify()


def test_a_clean_ledger_without_checkpoints_verifies(rig: Rig) -> None:
    fill(rig)
    assert rig.verify().checkpoints == 0


@pytest.fixture
def sealed(rig: Rig) -> Rig:
    fill(rig)
    sealer = rig.sealer()
    sealer.seal()
    fill(rig, 40, seed=1)
    sealer.seal()
    return rig


def expect_failure(rig: Rig, *words: str) -> ChainError:
    with pytest.raises(ChainError) as err:
        rig.verify()
    for w in words:
        assert w in err.value.message
    return err.value


def test_a_consistent_tail_cut_is_caught_by_the_checkpoint(sealed: Rig) -> None:
    store, size = sealed.ledger.store, sealed.ledger.store.size()
    cut = store.read(size - 2, 2)  # the last sealed event and the (unsealed) anchor receipt
    streams = {h.position: name for name, h in store.heads()}
    # The attacker deletes both and rewinds their streams' heads, so every chain still
    # verifies on its own; only the signed checkpoint size remembers the events.
    sealed.raw.run("DELETE FROM {events} WHERE {nid} > ?", (size - 2,))
    for r in cut:
        name = streams[r.position]
        rest = store.read_stream(name)
        if not rest:
            sealed.raw.run("DELETE FROM {heads} WHERE stream = ?", (name,))
            continue
        prev_hash = bytes.fromhex(decode_record(rest[-1].data).ledger.prev_hash)
        sealed.raw.run(
            "UPDATE {heads} SET stream_position = ?, hash = ?, position = ? WHERE stream = ?",
            (rest[-1].stream_position, event_hash(prev_hash, rest[-1].data), rest[-1].position, name),
        )
    assert verify_log(iter_store(store.read), store.heads()).events == size - 2

    err = expect_failure(sealed, "removed from the end of the log")
    assert err.position == size - 2


def test_a_changed_event_under_a_checkpoint_is_located(sealed: Rig) -> None:
    data = bytearray(sealed.raw.state(7))
    data[data.index(b'"trace_id":"') + 12] ^= 0x01
    sealed.raw.run("UPDATE {events} SET state = ? WHERE {nid} = ?", (bytes(data), 8))

    err = expect_failure(sealed, "global position 7 does not match its leaf")
    assert err.position == 7


def test_an_altered_tree_node_is_caught(sealed: Rig) -> None:
    table = (
        "ledger_tree"
        if sealed.raw.sqlite
        else sealed.raw.names["events"].replace("ledger_events", "ledger_tree")
    )
    sealed.raw.run(f"UPDATE {table} SET hash = ? WHERE level = 3 AND idx = 2", (bytes(32),))

    err = expect_failure(sealed, "persisted Merkle tree node over positions 16..23")
    assert err.position == 16


def test_an_altered_checkpoint_in_the_database_is_caught(sealed: Rig) -> None:
    table = (
        "ledger_checkpoints"
        if sealed.raw.sqlite
        else sealed.raw.names["events"].replace("ledger_events", "ledger_checkpoints")
    )
    note = bytearray(sealed.tree_store.checkpoint(120) or b"")
    note[note.index(b"\n") + 1] ^= 0x01  # the size line
    sealed.raw.run(f"UPDATE {table} SET note = ? WHERE size = 120", (bytes(note),))

    expect_failure(sealed, "checkpoint at tree size 120")


def writable(path: Path) -> None:
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)  # noqa: PTH101


def test_a_changed_worm_object_is_caught(sealed: Rig) -> None:
    path = sealed.worm_dir / checkpoint_key(ORIGIN, 120)
    writable(path)
    path.write_bytes(path.read_bytes().replace(b"batch 0 120", b"batch 0 121"))

    expect_failure(sealed, "differs")


def test_a_missing_worm_object_is_caught(sealed: Rig) -> None:
    latest = sealed.tree_store.latest_checkpoint()
    assert latest is not None
    path = sealed.worm_dir / checkpoint_key(ORIGIN, latest[0])
    writable(path)
    path.unlink()

    expect_failure(sealed, "missing")


def test_a_checkpoint_deleted_from_the_database_is_caught(sealed: Rig) -> None:
    table = (
        "ledger_checkpoints"
        if sealed.raw.sqlite
        else sealed.raw.names["events"].replace("ledger_events", "ledger_checkpoints")
    )
    latest = sealed.tree_store.latest_checkpoint()
    assert latest is not None
    sealed.raw.run(f"DELETE FROM {table} WHERE size = ?", (latest[0],))

    expect_failure(sealed, "has no checkpoint in the database")


@pytest.mark.s3
def test_sealing_anchors_in_s3_object_lock_over_http(rig: Rig, s3_endpoint: str) -> None:
    c, bucket = fresh_bucket(s3_endpoint)
    s3 = S3WormStore(c, bucket)
    fill(rig)

    result = rig.sealer(s3).seal()

    [receipt] = result.anchored
    assert (receipt.store, receipt.mode) == ("s3", "COMPLIANCE")
    head = client(s3_endpoint).head_object(Bucket=bucket, Key=receipt.key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert [e.payload["version_id"] for e in rig.ledger.history("Anchor:s3")] == [receipt.version_id]
    rig.worm = s3
    assert rig.verify().worm_objects == 1


def test_events_appended_while_verifying_do_not_fail_a_live_ledger(sealed: Rig) -> None:
    store = sealed.ledger.store
    size = store.size()

    def records_with_appends_midway() -> Iterator[StoredRecord]:
        for r in iter_store(store.read):
            if r.position == 50:  # producers keep appending, to old streams and new ones
                sealed.ledger.append(realistic(Events(9), 30, streams=15))
            yield r

    report = sealed.verify(records_with_appends_midway())

    assert report.events == size + 30


def test_removing_the_head_of_the_newest_stream_is_caught_on_a_live_ledger(sealed: Rig) -> None:
    store = sealed.ledger.store
    sealed.ledger.append([Events(9).feature_flag("newest")])
    sealed.raw.run("DELETE FROM {heads} WHERE stream = ?", ("FeatureFlag:newest",))

    err = expect_failure(sealed, "FeatureFlag:newest", "but no head")
    assert err.position == store.size() - 1
