"""``ledger keys …``: the checkpoint signing keyring (init, rotate, export-public)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from infra.settings import Settings
from infra.signing import Keyring
from infra.wiring.bootstrap import build_keyring
from ledger.errors import StorageError


def cmd_keys_init(args: argparse.Namespace, settings: Settings) -> int:
    """Create the signing keyring with its first active key."""
    ring = Keyring.init(settings.signing_dir, args.name or settings.origin)
    key = ring.verifiers()[-1]
    print(f"keys init: {key.vkey()} active from {key.valid_from} (keyring {ring.directory})")
    return 0


def cmd_keys_rotate(args: argparse.Namespace, settings: Settings) -> int:  # noqa: ARG001
    """Retire the active key now and activate a new one."""
    key = build_keyring(settings).rotate()
    print(f"keys rotate: {key.vkey()} active from {key.valid_from}; the previous key is retired")
    print("keys rotate: re-export the public keys (`ledger keys export-public`) for auditors")
    return 0


def cmd_keys_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write the trusted-key file (every public key with its validity window)."""
    text = build_keyring(settings).export_public()
    if args.out in {None, "-"}:
        sys.stdout.write(text)
        return 0
    try:
        Path(args.out).write_text(text, encoding="utf-8")
    except OSError as e:
        msg = f"cannot write {args.out}: {e.strerror}"
        raise StorageError(msg) from None
    print(f"keys export-public: {text.count(chr(10)) - 1} keys written to {args.out}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's sub-commands to the ``ledger`` parser."""
    keys = sub.add_parser("keys", help="checkpoint signing keys (LEDGER_SIGNING_DIR)")
    ks = keys.add_subparsers(dest="keys_command", required=True)
    i = ks.add_parser("init", help="create the keyring and its first Ed25519 key")
    i.add_argument("--name", help="key name in signature lines (default LEDGER_ORIGIN)")
    i.set_defaults(fn=cmd_keys_init)
    r = ks.add_parser("rotate", help="retire the active key now and create its successor")
    r.set_defaults(fn=cmd_keys_rotate)
    e = ks.add_parser("export-public", help="print the trusted-key file for auditors (--trusted-key)")
    e.add_argument("--out", help="write to FILE instead of stdout")
    e.set_defaults(fn=cmd_keys_export)
