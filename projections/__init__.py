"""Read models rebuilt from the event log: audit diffs, rounds, state, cases, report facts, quality.

``runner.ProjectionRunner`` folds the log into every projection of ``registry.all_projections``
through the ``ports.ViewStore`` port (SQL adapters: ``infra/sqlite/views.py``,
``infra/postgres/views.py``); the read functions (``audit.audit_history``,
``rounds.reconstruct_round``, ``cases.case_view``, ``reports.report``,
``quality.quality_report``, ``state.lookup``) answer from the views. See docs/projections.md.
"""
