"""WORM stores: a local folder (development) and S3 Object Lock in COMPLIANCE mode.

Both are create-only (see :mod:`ledger.worm`). The local folder marks objects read-only
and refuses to replace them, which guards against accidents, not against the machine's
owner; only S3 Object Lock in COMPLIANCE mode makes deletion before ``retain_until``
impossible for every account, including root.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, Final

import boto3
import msgspec
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from infra.files import fsync_dir
from ledger.catalogue.types import Timestamp
from ledger.checkpoint import check_timestamp
from ledger.errors import ConflictError, NotFoundError, StorageError, VerificationError
from ledger.worm import SIDECAR_SUFFIX, WormReceipt, check_key

_COMPLIANCE = "COMPLIANCE"
_NOT_FOUND = {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}
_EXISTS = {"PreconditionFailed", "ConditionalRequestConflict"}


class Retention(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The local store's sidecar ``<key>.retention.json``: fixed by the first write."""

    key: str
    retain_until: str
    sha256: str


class LocalWormStore:
    """Create-only objects in a folder: ``<dir>/<key>`` (mode 0444) + ``<key>.retention.json``.

    A write goes to a temporary file in the target folder, is fsynced, made read-only and
    then hard-linked into place: ``link`` fails if the name exists, so of two concurrent
    writers exactly one wins and the other compares bytes (identical → success, else
    ``ConflictError``). The folder is fsynced so the new name survives a crash.
    """

    kind: Final = "local"

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def put(self, key: str, data: bytes, retain_until: str) -> WormReceipt:
        """Write ``data`` once under ``key`` (see :class:`ledger.worm.WormStore`)."""
        path = self._path(key)
        check_timestamp(retain_until, "retain_until")
        digest = hashlib.sha256(data).hexdigest()
        try:
            self._mkdir(path.parent)
            if not _create(path, data) and path.read_bytes() != data:
                theirs = _sha256_file(path)
                msg = f"WORM object {key} exists with different bytes (sha256 {theirs}, ours {digest})"
                raise ConflictError(msg, field="key")
            sidecar = Retention(key=key, retain_until=retain_until, sha256=digest)
            _create(self._sidecar(path), msgspec.json.encode(sidecar) + b"\n")
        except OSError as e:
            raise StorageError(f"cannot write WORM object {key}: {e.strerror}") from e
        return self.head(key)

    def get(self, key: str) -> bytes:
        """Return the object's bytes."""
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"no WORM object {key}", field="key") from None
        except OSError as e:
            raise StorageError(f"cannot read WORM object {key}: {e.strerror}") from e

    def head(self, key: str) -> WormReceipt:
        """Return the receipt; the bytes are re-hashed and must match the recorded digest.

        Raises:
            NotFoundError: no object (or no retention record) under ``key``.
            VerificationError: the object's bytes changed since they were written.
        """
        path = self._path(key)
        data = self.get(key)
        try:
            rec = msgspec.json.decode(self._sidecar(path).read_bytes(), type=Retention)
        except FileNotFoundError:
            raise NotFoundError(f"WORM object {key} has no retention record", field="key") from None
        except (OSError, msgspec.DecodeError) as e:
            raise StorageError(f"cannot read the retention record of {key}: {e}") from e
        digest = hashlib.sha256(data).hexdigest()
        if digest != rec.sha256:
            msg = f"WORM object {key}: expected sha256 {rec.sha256}, got {digest}"
            raise VerificationError(msg, field="key")
        return WormReceipt(store="local", key=key, retain_until=rec.retain_until, sha256=digest)

    def keys(self, prefix: str = "") -> list[str]:
        """Return the object keys under the folder starting with ``prefix``, sorted."""
        if not self.directory.is_dir():
            return []
        found = []
        for root, dirs, files in os.walk(self.directory):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                if name.startswith(".") or name.endswith(SIDECAR_SUFFIX):
                    continue
                key = (Path(root) / name).relative_to(self.directory).as_posix()
                if key.startswith(prefix):
                    found.append(key)
        return sorted(found)

    def _mkdir(self, folder: Path) -> None:
        """Create ``folder`` if needed; fsync the parents of what was created (durable names)."""
        missing = [p for p in (folder, *folder.parents) if not p.exists()]
        if not missing:
            return
        folder.mkdir(parents=True, exist_ok=True)
        for p in missing:
            fsync_dir(p.parent)

    def _path(self, key: str) -> Path:
        return self.directory / check_key(key)

    @staticmethod
    def _sidecar(path: Path) -> Path:
        return path.with_name(path.name + SIDECAR_SUFFIX)


def _create(path: Path, data: bytes) -> bool:
    """Create ``path`` read-only with ``data``; return False if it already existed."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        Path(tmp).chmod(0o444)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
    finally:
        Path(tmp).unlink(missing_ok=True)
    fsync_dir(path.parent)
    return True


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def s3_client(endpoint_url: str | None, region: str, credentials: tuple[str, str] | None = None) -> Any:
    """Build a boto3 S3 client: path-style addressing, explicit endpoint (None = AWS).

    ``credentials`` (access key, secret) is for tests against a local server; without it
    boto3's usual chain (environment, profile, instance role) applies.
    """
    keys = (
        {"aws_access_key_id": credentials[0], "aws_secret_access_key": credentials[1]} if credentials else {}
    )
    config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"})
    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region, config=config, **keys)


class S3WormStore:
    """Create-only objects in an S3 bucket with Object Lock, each locked in COMPLIANCE mode.

    ``put`` sends ``If-None-Match: *`` (never overwrite), ``x-amz-checksum-sha256`` (S3
    checks our digest end to end) and the COMPLIANCE retention, then reads the version back
    with ``HeadObject`` and fails unless the mode and date are what was asked.
    """

    kind: Final = "s3"

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    @staticmethod
    def create_bucket(client: Any, bucket: str, region: str) -> None:
        """Create ``bucket`` with Object Lock enabled (idempotent; checks an existing one).

        Raises:
            StorageError: the bucket exists without Object Lock, or S3 failed.
        """
        kwargs: dict[str, Any] = {"Bucket": bucket, "ObjectLockEnabledForBucket": True}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            client.create_bucket(**kwargs)
        except ClientError as e:
            if _code(e) != "BucketAlreadyOwnedByYou":
                raise StorageError(f"cannot create bucket {bucket}: {_describe(e)}") from e
        try:
            conf = client.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
        except (ClientError, BotoCoreError) as e:
            raise StorageError(f"bucket {bucket} has no Object Lock: {_describe(e)}") from e
        if conf.get("ObjectLockEnabled") != "Enabled":
            raise StorageError(f"bucket {bucket} has no Object Lock enabled")

    def put(self, key: str, data: bytes, retain_until: str) -> WormReceipt:
        """Write ``data`` once under ``key`` (see :class:`ledger.worm.WormStore`).

        ``retain_until`` is rounded up to a whole second (S3 keeps seconds).
        """
        check_key(key)
        until = _ceil_second(Timestamp.parse(check_timestamp(retain_until, "retain_until")))
        digest = hashlib.sha256(data).digest()
        try:
            resp = self.client.put_object(
                Bucket=self.bucket, Key=key, Body=data, IfNoneMatch="*",
                ChecksumAlgorithm="SHA256", ChecksumSHA256=base64.b64encode(digest).decode(),
                ObjectLockMode=_COMPLIANCE, ObjectLockRetainUntilDate=until,
            )  # fmt: skip
        except ClientError as e:
            if _code(e) not in _EXISTS:
                raise StorageError(
                    f"cannot write WORM object s3://{self.bucket}/{key}: {_describe(e)}"
                ) from e
            return self._existing(key, data)
        except BotoCoreError as e:
            raise StorageError(f"cannot write WORM object s3://{self.bucket}/{key}: {e}") from e
        receipt = self._head(key, resp.get("VersionId"), digest.hex())
        if receipt.mode != _COMPLIANCE or Timestamp.parse(receipt.retain_until) < until:
            msg = (
                f"s3://{self.bucket}/{key}: expected {_COMPLIANCE} until {until.canonical()}, "
                f"got {receipt.mode} until {receipt.retain_until}"
            )
            raise StorageError(msg)
        return receipt

    def get(self, key: str) -> bytes:
        """Return the current version's bytes."""
        check_key(key)
        try:
            body: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as e:
            raise self._error(e, key) from e
        except BotoCoreError as e:
            raise StorageError(f"cannot read s3://{self.bucket}/{key}: {e}") from e
        return body

    def head(self, key: str) -> WormReceipt:
        """Return the current version's receipt (mode and date from ``HeadObject``)."""
        check_key(key)
        return self._head(key, None, None)

    def keys(self, prefix: str = "") -> list[str]:
        """Return the object keys starting with ``prefix``, sorted."""
        found: list[str] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            for page in pages:
                found.extend(o["Key"] for o in page.get("Contents", []))
        except (ClientError, BotoCoreError) as e:
            raise StorageError(f"cannot list s3://{self.bucket}/{prefix}: {_describe(e)}") from e
        return sorted(found)

    def _existing(self, key: str, data: bytes) -> WormReceipt:
        if self.get(key) != data:
            msg = f"WORM object s3://{self.bucket}/{key} exists with different bytes"
            raise ConflictError(msg, field="key")
        return self.head(key)

    def _head(self, key: str, version_id: str | None, sha256_hex: str | None) -> WormReceipt:
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "ChecksumMode": "ENABLED"}
        if version_id:
            args["VersionId"] = version_id
        try:
            h = self.client.head_object(**args)
        except ClientError as e:
            raise self._error(e, key) from e
        except BotoCoreError as e:
            raise StorageError(f"cannot read s3://{self.bucket}/{key}: {e}") from e
        stored = h.get("ChecksumSHA256")
        digest = base64.b64decode(stored).hex() if stored else None
        if sha256_hex is not None and digest not in {None, sha256_hex}:
            msg = f"s3://{self.bucket}/{key}: expected sha256 {sha256_hex}, got {digest}"
            raise VerificationError(msg, field="key")
        if digest is None:
            digest = sha256_hex or hashlib.sha256(self.get(key)).hexdigest()
        until = h.get("ObjectLockRetainUntilDate")
        if until is None:
            raise StorageError(f"s3://{self.bucket}/{key} has no Object Lock retention")
        return WormReceipt(
            store="s3", key=key, version_id=h.get("VersionId"), etag=(h.get("ETag") or "").strip('"') or None,
            retain_until=Timestamp.of(until).canonical(), sha256=digest,
            mode=h.get("ObjectLockMode"),
        )  # fmt: skip

    def _error(self, e: ClientError, key: str) -> Exception:
        if _code(e) in _NOT_FOUND:
            return NotFoundError(f"no WORM object s3://{self.bucket}/{key}", field="key")
        return StorageError(f"s3://{self.bucket}/{key}: {_describe(e)}")


def _ceil_second(t: Timestamp) -> Timestamp:
    if t.microsecond == 0:
        return t
    return Timestamp.of(t.replace(microsecond=0) + dt.timedelta(seconds=1))


def _code(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code", ""))


def _describe(e: Exception) -> str:
    if isinstance(e, ClientError):
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return f"{_code(e)} (HTTP {status}): {e.response.get('Error', {}).get('Message', '')}"
    return str(e)
