"""One contract for every WormStore: the local folder and S3 Object Lock (moto server, real HTTP)."""

from __future__ import annotations

import hashlib
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from infra.worm import LocalWormStore, S3WormStore
from ledger.errors import ConflictError, NotFoundError, StorageError, ValidationError, VerificationError
from ledger.worm import WormStore, checkpoint_key
from tests.s3 import client, fresh_bucket, s3_endpoint  # noqa: F401 - s3_endpoint is a fixture

UNTIL = "2036-01-01T00:00:00.000Z"
KEY = checkpoint_key("audit-ledger.local/log", 1000)
NOTE = b"audit-ledger.local/log\n1000\n...\n"


@dataclass
class Worm:
    kind: str
    store: WormStore
    client: Any = None
    bucket: str = ""
    directory: Path | None = None


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def worm(request: pytest.FixtureRequest, tmp_path: Path) -> Worm:
    if request.param == "s3":
        c, bucket = fresh_bucket(request.getfixturevalue("s3_endpoint"))
        return Worm("s3", S3WormStore(c, bucket), client=c, bucket=bucket)
    return Worm("local", LocalWormStore(tmp_path / "worm"), directory=tmp_path / "worm")


def test_write_then_read_back(worm: Worm) -> None:
    receipt = worm.store.put(KEY, NOTE, UNTIL)
    assert worm.store.get(KEY) == NOTE
    assert receipt.key == KEY
    assert receipt.store == worm.kind
    assert receipt.sha256 == hashlib.sha256(NOTE).hexdigest()
    assert worm.store.head(KEY) == receipt
    assert worm.store.keys("checkpoints/") == [KEY]
    assert worm.store.keys("other/") == []


def test_identical_reput_is_success_with_the_original_receipt(worm: Worm) -> None:
    first = worm.store.put(KEY, NOTE, UNTIL)
    again = worm.store.put(KEY, NOTE, "2040-01-01T00:00:00.000Z")
    assert again == first  # same version, same retention: the first write fixed it
    assert worm.store.keys() == [KEY]


def test_different_bytes_are_refused_and_the_original_stays(worm: Worm) -> None:
    first = worm.store.put(KEY, NOTE, UNTIL)
    with pytest.raises(ConflictError) as err:
        worm.store.put(KEY, NOTE + b"tampered\n", UNTIL)
    assert err.value.field == "key"
    assert worm.store.get(KEY) == NOTE
    assert worm.store.head(KEY) == first


def test_retention_is_visible_via_head(worm: Worm) -> None:
    worm.store.put(KEY, NOTE, UNTIL)
    head = worm.store.head(KEY)
    assert head.retain_until == UNTIL
    assert head.mode == ("COMPLIANCE" if worm.kind == "s3" else None)
    if worm.kind == "s3":
        assert head.version_id
        assert head.etag == hashlib.md5(NOTE).hexdigest()  # noqa: S324 - S3's single-part ETag


def test_missing_key_is_not_found(worm: Worm) -> None:
    with pytest.raises(NotFoundError):
        worm.store.get("checkpoints/none.note")
    with pytest.raises(NotFoundError):
        worm.store.head("checkpoints/none.note")


@pytest.mark.parametrize("key", ["", "/abs.note", "a/../b", ".hidden", "a//b", "x.note.retention.json"])
def test_unsafe_keys_are_refused(worm: Worm, key: str) -> None:
    with pytest.raises(ValidationError):
        worm.store.put(key, NOTE, UNTIL)


def test_bad_retention_timestamp_is_refused(worm: Worm) -> None:
    with pytest.raises(ValidationError):
        worm.store.put(KEY, NOTE, "2036-01-01")
    assert worm.store.keys() == []


def test_keys_are_sorted_by_size(worm: Worm) -> None:
    for size in (10, 2, 1000, 1):
        worm.store.put(checkpoint_key("o", size), b"%d" % size, UNTIL)
    assert worm.store.keys("checkpoints/") == [checkpoint_key("o", s) for s in (1, 2, 10, 1000)]


# --- S3 Object Lock specifics ------------------------------------------------------------


@pytest.mark.s3
def test_s3_delete_of_a_locked_version_is_refused(s3_endpoint: str) -> None:  # noqa: F811
    c, bucket = fresh_bucket(s3_endpoint)
    receipt = S3WormStore(c, bucket).put(KEY, NOTE, UNTIL)
    with pytest.raises(ClientError) as err:
        c.delete_object(Bucket=bucket, Key=KEY, VersionId=receipt.version_id)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert c.get_object(Bucket=bucket, Key=KEY, VersionId=receipt.version_id)["Body"].read() == NOTE


@pytest.mark.s3
def test_s3_retention_is_rounded_up_to_a_whole_second(s3_endpoint: str) -> None:  # noqa: F811
    c, bucket = fresh_bucket(s3_endpoint)
    receipt = S3WormStore(c, bucket).put(KEY, NOTE, "2036-01-01T00:00:00.001Z")
    assert receipt.retain_until == "2036-01-01T00:00:01.000Z"


@pytest.mark.s3
def test_s3_bucket_without_object_lock_is_refused(s3_endpoint: str) -> None:  # noqa: F811
    c = client(s3_endpoint)
    c.create_bucket(Bucket="plain-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    with pytest.raises(StorageError, match="Object Lock"):
        S3WormStore.create_bucket(c, "plain-bucket", "eu-west-1")


@pytest.mark.s3
def test_s3_unreachable_endpoint_is_a_storage_error() -> None:
    store = S3WormStore(client("http://127.0.0.1:9"), "nowhere")
    with pytest.raises(StorageError):
        store.get(KEY)


# --- local folder specifics --------------------------------------------------------------


def test_local_object_and_retention_record_are_read_only(tmp_path: Path) -> None:
    LocalWormStore(tmp_path).put(KEY, NOTE, UNTIL)
    for path in (tmp_path / KEY, tmp_path / f"{KEY}.retention.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert [p.name for p in (tmp_path / "checkpoints").iterdir() if p.name.startswith(".")] == []


def test_local_concurrent_writers_one_wins_the_rest_lose_cleanly(tmp_path: Path) -> None:
    store = LocalWormStore(tmp_path)
    n = 8
    barrier = threading.Barrier(n)
    results: dict[int, str] = {}

    def write(i: int) -> None:
        barrier.wait()
        try:
            store.put(KEY, b"writer %d\n" % i, UNTIL)
            results[i] = "won"
        except ConflictError:
            results[i] = "conflict"

    threads = [threading.Thread(target=write, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for i, r in results.items() if r == "won"]
    assert len(winners) == 1
    assert sorted(results.values()).count("conflict") == n - 1
    assert store.get(KEY) == b"writer %d\n" % winners[0]
    assert store.head(KEY).sha256 == hashlib.sha256(store.get(KEY)).hexdigest()


def test_local_bytes_changed_on_disk_are_detected(tmp_path: Path) -> None:
    store = LocalWormStore(tmp_path)
    store.put(KEY, NOTE, UNTIL)
    path = tmp_path / KEY
    path.chmod(0o644)
    path.write_bytes(NOTE.replace(b"1000", b"1001"))
    with pytest.raises(VerificationError, match="expected sha256"):
        store.head(KEY)


def test_local_keys_skip_retention_records_and_temporary_files(tmp_path: Path) -> None:
    store = LocalWormStore(tmp_path)
    store.put(KEY, NOTE, UNTIL)
    (tmp_path / "checkpoints" / ".x.note.123.tmp").write_bytes(b"partial")
    assert store.keys() == [KEY]
