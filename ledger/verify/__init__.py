"""Verification of the stored ledger from its bytes: every chain, tree node, checkpoint and anchor.

``verify_log`` (:mod:`ledger.verify.log`) recomputes the hash chains over spans of records
with ``ChainCheck`` (:mod:`ledger.verify.chain`); ``verify_ledger``
(:mod:`ledger.verify.ledger`) adds ``TreeCheck`` (:mod:`ledger.verify.tree`), the signed
checkpoints and their WORM copies, and may check ranges of a large ledger side by side
(:mod:`ledger.verify.ranges`). Every fault is raised located, first in position order.
"""

from ledger.verify.ledger import LedgerReport, verify_ledger
from ledger.verify.log import Report, iter_columns, iter_store, verify_log

__all__ = ["LedgerReport", "Report", "iter_columns", "iter_store", "verify_ledger", "verify_log"]
