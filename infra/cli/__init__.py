"""The ``ledger`` command line (``infra.cli.main``): one module per command group."""
