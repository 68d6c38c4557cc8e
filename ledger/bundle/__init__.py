"""Evidence bundles, format v1 (docs/bundle-format.md): export, build, verify offline.

``format`` declares the members, ``build`` writes a bundle, ``zipread`` reads one,
``check`` verifies one against trusted keys, ``export`` collects one from the ports.
"""

from ledger.bundle.build import Anchor, build_bundle
from ledger.bundle.check import BundleReport, verify_bundle
from ledger.bundle.export import ExportScope, ExportSummary, export_bundle
from ledger.bundle.format import MANIFEST, AnchorProof, BundleError, Scope

__all__ = [
    "MANIFEST",
    "Anchor",
    "AnchorProof",
    "BundleError",
    "BundleReport",
    "ExportScope",
    "ExportSummary",
    "Scope",
    "build_bundle",
    "export_bundle",
    "verify_bundle",
]
