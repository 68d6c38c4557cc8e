"""The ``ledger`` command line: the parser, the entry point and its exit codes.

Each command group lives in its own module with a ``register(sub)``. Errors are one
readable line on stderr and a non-zero exit code, never a traceback:
1 verification failed, 2 bad input or configuration, 3 storage or internal failure.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from infra.cli import bundle, events, keys, projections, seal, serve, token, verify
from infra.cli.common import EXIT_INPUT, EXIT_STORAGE, EXIT_VERIFY
from infra.settings import Settings, from_process_env
from ledger.errors import LedgerError, StorageError, VerificationError


def parser() -> argparse.ArgumentParser:
    """Return the argument parser (store selection comes from LEDGER_* environment variables)."""
    p = argparse.ArgumentParser(prog="ledger", description="audit-ledger: tamper-evident system of record")
    sub = p.add_subparsers(dest="command", required=True)
    for group in (events, verify, seal, keys, projections, bundle, serve, token):
        group.register(sub)
    return p


def main(argv: Sequence[str] | None = None, env: dict[str, str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    args = parser().parse_args(argv)
    fn: Callable[[argparse.Namespace, Settings], int] = args.fn
    try:
        settings = from_process_env() if env is None else Settings.from_env(env)
        return fn(args, settings)
    except LedgerError as e:
        what = "verification failed: " if isinstance(e, VerificationError) else ""
        print(f"ledger {args.command}: {what}{e}", file=sys.stderr)
        return _exit_code(e)
    except BrokenPipeError:  # the reader went away (`ledger history … | head`): not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"ledger {args.command}: interrupted; committed batches stay committed", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the CLI promise: one line, never a traceback
        print(f"ledger {args.command}: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_STORAGE


def _exit_code(e: LedgerError) -> int:
    if isinstance(e, VerificationError):
        return EXIT_VERIFY
    return EXIT_STORAGE if isinstance(e, StorageError) else EXIT_INPUT


def run() -> None:
    """Run the console-script entry point."""
    sys.exit(main())
