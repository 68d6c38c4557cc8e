"""The HTTP API (Litestar): ``api.app.create_app(deps)``; composed from settings in ``infra.wiring.api``."""
