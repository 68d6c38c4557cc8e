"""One error → HTTP table: every error is RFC 9457 problem+json with a stable ``type``, never a traceback."""

from __future__ import annotations

import logging
from typing import Any, Final

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.openapi.datastructures import ResponseSpec

from ledger.errors import (
    ConflictError,
    LedgerError,
    NotFoundError,
    PolicyViolationError,
    PushbackError,
    StorageError,
    ValidationError,
    VerificationError,
)

PROBLEM_JSON: Final = "application/problem+json"
TYPE_BASE: Final = "https://audit-ledger.local/problems/"
_log = logging.getLogger("api")


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """RFC 9457 problem details (``type`` is stable; ``field`` names the offending input)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    field: str | None = None
    trace_id: str | None = None
    policy_version: str | None = None


# (status, slug, title) per ledger error class; the most specific class wins.
_LEDGER: Final[list[tuple[type[LedgerError], int, str, str]]] = [
    (ValidationError, 422, "validation", "The input is invalid"),
    (ConflictError, 409, "conflict", "The request conflicts with the ledger's state"),
    (NotFoundError, 404, "not-found", "Not found"),
    (PolicyViolationError, 409, "policy-violation", "A policy forbids this operation"),
    (PushbackError, 503, "overloaded", "The ledger is overloaded; retry later"),
    (StorageError, 503, "storage-unavailable", "The store is unavailable; nothing was written"),
    (VerificationError, 500, "verification-failed", "Stored data failed verification"),
]

_HTTP_SLUGS: Final = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Missing or invalid bearer token"),
    403: ("forbidden", "Not allowed for this role"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation", "The input is invalid"),
    429: ("rate-limited", "Too many requests"),
    503: ("unavailable", "Service unavailable"),
}


class NotConfiguredError(Exception):
    """A part this deployment does not run (no views, no exporter): one 503 problem for all of them."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} are not available in this deployment")
        self.detail = str(self)


def problem_type(slug: str) -> str:
    """The stable ``type`` URI of a problem slug."""
    return f"{TYPE_BASE}{slug}"


def _trace_id(request: Request[Any, Any, Any]) -> str | None:
    value = request.scope.get("state", {}).get("trace_id")
    return value if isinstance(value, str) else None


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    policy_version: str | None = None,
) -> Response[Problem]:
    """A problem+json response."""
    body = Problem(
        type=problem_type(slug),
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path,
        field=field,
        trace_id=_trace_id(request),
        policy_version=policy_version,
    )
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def ledger_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    """Map a ledger error to its status and stable type."""
    assert isinstance(exc, LedgerError)  # noqa: S101 - registered for LedgerError only
    for cls, status, slug, title in _LEDGER:
        if isinstance(exc, cls):
            headers = {"Retry-After": "1"} if status == 503 else None  # noqa: PLR2004
            if status >= 500:  # noqa: PLR2004
                _log.warning("%s on %s: %s", type(exc).__name__, request.url.path, exc)
            return problem_response(
                request, status, slug, title, exc.message, field=exc.field, headers=headers
            )
    return internal_error_handler(request, exc)


def not_configured_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    """A part missing from this deployment: 503 ``unavailable`` (no Retry-After: waiting will not help)."""
    assert isinstance(exc, NotConfiguredError)  # noqa: S101 - registered for NotConfiguredError only
    slug, title = _HTTP_SLUGS[503]
    return problem_response(request, 503, slug, title, exc.detail)


def _validation_field(exc: ValidationException) -> tuple[str | None, str]:
    extra = exc.extra
    if isinstance(extra, list) and extra and isinstance(extra[0], dict):
        first = extra[0]
        key = first.get("key")
        return (str(key) if key else None), str(first.get("message", exc.detail))
    return None, str(exc.detail)


def http_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    """Map Litestar's HTTP exceptions (auth, routing, parameter validation) to problems."""
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for HTTPException only
    status = exc.status_code
    field: str | None = None
    detail = str(exc.detail)
    if isinstance(exc, ValidationException):
        status = 422
        field, detail = _validation_field(exc)
    elif isinstance(exc, NotAuthorizedException):
        status = 401
    elif isinstance(exc, PermissionDeniedException):
        status = 403
    if status >= 500:  # noqa: PLR2004
        return internal_error_handler(request, exc)
    slug, title = _HTTP_SLUGS.get(status, ("http-error", "HTTP error"))
    headers = dict(exc.headers or {})
    if status == 401:  # noqa: PLR2004
        headers["WWW-Authenticate"] = 'Bearer realm="audit-ledger"'
    policy = (exc.extra or {}).get("policy_version") if isinstance(exc.extra, dict) else None
    return problem_response(
        request, status, slug, title, detail, field=field, headers=headers or None, policy_version=policy
    )


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    """Anything unexpected: a 500 problem naming the trace, never the traceback."""
    _log.error("unhandled %s on %s", type(exc).__name__, request.url.path, exc_info=exc)
    return problem_response(
        request, 500, "internal", "Internal error", "an unexpected error occurred; the trace id locates it"
    )


def problem_spec(description: str) -> ResponseSpec:
    """An OpenAPI response documented as problem+json."""
    return ResponseSpec(data_container=Problem, description=description, media_type=PROBLEM_JSON)


AUTH_RESPONSES: Final = {
    400: problem_spec("Malformed request (e.g. a body that is not JSON)"),
    401: problem_spec("Missing, expired or invalid bearer token"),
    403: problem_spec("The token's role may not call this route (or the client address is not allowed)"),
    422: problem_spec("Invalid parameter or body; `field` names it"),
}


def responses(*extra: int) -> dict[int, ResponseSpec]:
    """The documented error responses of an authenticated route, plus ``extra`` statuses."""
    described = {
        404: "Not found",
        409: "Conflict with the ledger's state",
        503: "Store unavailable or overloaded (Retry-After)",
    }
    return {**AUTH_RESPONSES, **{s: problem_spec(described[s]) for s in extra}}


EXCEPTION_HANDLERS: Final = {
    LedgerError: ledger_error_handler,
    NotConfiguredError: not_configured_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}
MEDIA_JSON: Final = MediaType.JSON
