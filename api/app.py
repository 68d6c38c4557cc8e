"""The app factory: ``create_app(deps)`` wires controllers, security, errors, OpenAPI, metrics, tracing."""

from __future__ import annotations

from typing import Any, Final

from litestar import Litestar, Router
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Schema
from litestar.plugins import OpenAPISchemaPlugin
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from litestar.types import Scope
from litestar.typing import FieldDefinition

from api.access import AccessRecorder
from api.deps import ApiDeps
from api.errors import EXCEPTION_HANDLERS
from api.observability import observe_middleware
from api.routes.disputes import ComplianceController, RoundsController
from api.routes.ingest import IngestController
from api.routes.ops import AdminController, OpsController
from api.routes.proofs import ProofsController
from api.routes.regulator import RegulatorController
from api.security import auth_middleware, rbac_guard, security_components
from ledger.catalogue.types import Timestamp, schema_hook
from policies.rbac import POLICY_VERSION

API_VERSION: Final = "1.0.0"
MAX_BODY: Final = 16 * 1024 * 1024  # 1,000 events of up to ~16 KiB each


def _value(value: Any) -> Provide:
    def provide() -> Any:
        return value

    return Provide(provide, use_cache=True, sync_to_thread=False)


def _is_timestamp(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, Timestamp)


class TimestampSchema(OpenAPISchemaPlugin):
    """OpenAPI schema of the ledger's ``Timestamp`` types (their msgspec ``schema_hook``)."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        """Claim ``Timestamp`` and its strict wire form."""
        return _is_timestamp(value)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:  # noqa: ARG002
        """Render the JSON schema ``schema_hook`` gives the type."""
        spec = schema_hook(field_definition.annotation)
        return Schema(
            type=OpenAPIType.STRING,
            format=OpenAPIFormat.DATE_TIME,
            pattern=spec.get("pattern"),
            description=spec["description"],
        )


def _span_details(scope: Scope) -> tuple[str, dict[str, Any]]:
    """Initial span name: the method only (the route template replaces it once routed)."""
    return str(scope.get("method", scope["type"])), {}


def create_app(deps: ApiDeps) -> Litestar:
    """Build the Litestar app over ``deps`` (see :class:`api.deps.ApiDeps`)."""
    recorder = (
        AccessRecorder(deps.main.ledger, jurisdiction=deps.jurisdiction) if deps.record_access else None
    )
    # Sandbox use is recorded in the production ledger too (flagged): it is use of the service.
    recorders = {False: recorder, True: recorder}
    regulator = Router("/regulator", route_handlers=[RegulatorController])
    routers: list[Any] = [
        IngestController,
        regulator,
        RoundsController,
        ComplianceController,
        ProofsController,
        AdminController,
    ]
    if deps.sandbox is not None:
        # A separate ledger of synthetic data: these handlers are never given the production one.
        routers.append(
            Router(
                "/sandbox/regulator",
                route_handlers=[RegulatorController],
                dependencies={"ld": _value(deps.sandbox)},
                tags=["sandbox"],
            )
        )
    protected = Router("/", route_handlers=routers, guards=[rbac_guard])
    shutdown = [recorder.close] if recorder is not None else []
    app = Litestar(
        route_handlers=[protected, OpsController],
        dependencies={
            "deps": _value(deps),
            "ld": _value(deps.main),
            "exporter": _value(deps.exporter),
            "verification": _value(deps.verification),
        },
        middleware=[observe_middleware(recorders), auth_middleware(deps.auth)],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        openapi_config=OpenAPIConfig(
            title="audit-ledger API",
            version=API_VERSION,
            description=(
                "Tamper-evident event ledger for online-casino operators. Bearer JWTs carry `roles`; "
                f"the role → route matrix is `{POLICY_VERSION}`. Errors are RFC 9457 problem+json."
            ),
            path="/schema",
            components=[security_components(deps.auth)],
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
        plugins=[
            TimestampSchema(),
            OpenTelemetryPlugin(
                OpenTelemetryConfig(
                    tracer_provider=deps.tracer_provider,
                    scope_span_details_extractor=_span_details,
                    exclude_spans=["receive", "send"],
                )
            ),
        ],
        on_shutdown=[*shutdown, *deps.on_shutdown],
        request_max_body_size=MAX_BODY,
        debug=False,
    )
    app.state["access_recorder"] = recorder
    return app
