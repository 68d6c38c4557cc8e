"""Every projection the service runs, in a stable order."""

from __future__ import annotations

from projections.audit import AuditProjection
from projections.cases import CaseProjection
from projections.quality import QualityProjection
from projections.reports import ReportProjection
from projections.rounds import RoundProjection
from projections.runner import Projection
from projections.state import StateProjection


def all_projections() -> list[Projection]:
    """A fresh instance of every projection."""
    return [
        AuditProjection(),
        RoundProjection(),
        StateProjection(),
        CaseProjection(),
        ReportProjection(),
        QualityProjection(),
    ]
