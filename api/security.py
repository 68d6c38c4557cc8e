"""Bearer JWTs (Litestar's JWT support), client-certificate subjects, the IP allow-list, role guards.

The guard reads the role → route matrix from :mod:`policies.rbac`; nothing here decides who
may do what. Security is declared per handler in OpenAPI (``SECURITY``), never document-wide,
so the public operations routes are documented as public.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Sequence
from typing import Any, Final

import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AuthenticationResult, DefineMiddleware
from litestar.openapi.spec import Components, SecurityScheme
from litestar.security.jwt import JWTAuth, JWTAuthenticationMiddleware, Token

from api.deps import AuthConfig
from policies.rbac import decide

SCHEME: Final = "BearerToken"
SECURITY: Final[list[dict[str, list[str]]]] = [{SCHEME: []}]
EXCLUDE_KEY: Final = "exclude_from_auth"


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling: the token subject (or client-certificate subject) and their roles."""

    sub: str
    roles: tuple[str, ...]
    via: str = "jwt"


def _roles(token: Token) -> tuple[str, ...]:
    raw = token.extras.get("roles", token.extras.get("role", ()))
    values = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, list | tuple) else []
    return tuple(sorted({str(v) for v in values}))


async def _caller(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> Caller:  # noqa: ARG001
    return Caller(sub=token.sub, roles=_roles(token))


def _networks(cidrs: Sequence[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip()]


def _peer(
    connection: ASGIConnection[Any, Any, Any, Any],
) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    client = connection.scope.get("client")
    if not client:
        return None
    try:
        return ipaddress.ip_address(client[0])
    except ValueError:
        return None


class LedgerAuthMiddleware(JWTAuthenticationMiddleware):
    """JWT authentication, preceded by the IP allow-list and the trusted client-certificate header."""

    config: AuthConfig

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        """Allow-list first, then a mapped client certificate from a trusted proxy, else the bearer token.

        Raises:
            PermissionDeniedException: the client address is not in the allow-list.
            NotAuthorizedException: no usable credential.
        """
        cfg = self.config
        peer = _peer(connection)
        if cfg.ip_allow and (peer is None or not any(peer in n for n in _networks(cfg.ip_allow))):
            raise PermissionDeniedException(f"client address {peer} is not in the allow-list")
        if cfg.cert_header:
            subject = connection.headers.get(cfg.cert_header)
            trusted = peer is not None and any(peer in n for n in _networks(cfg.trusted_proxies))
            if subject and trusted:
                role = cfg.cert_roles.get(subject.strip())
                if role is None:
                    raise NotAuthorizedException("client certificate subject is not mapped to a role")
                return AuthenticationResult(
                    user=Caller(sub=_cert_sub(subject), roles=(role,), via="mtls"), auth=None
                )
        header = connection.headers.get(self.auth_header, "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException("a bearer token is required (Authorization: Bearer <jwt>)")
        encoded = token.strip()
        key = (cfg.algorithm, cfg.key, cfg.issuer, cfg.audience, encoded)
        cached = _VERIFIED.get(key)
        if cached is not None and time.time() < cached[1]:
            return cached[0]
        result = await self.authenticate_token(encoded_token=encoded, connection=connection)
        if isinstance(result.auth, Token):
            # A verified token is reused until it expires (services send the same token on every
            # request): signature checks were a fifth of a request's CPU. Every check that does
            # not change over the token's life (signature, issuer, audience) has already passed.
            if len(_VERIFIED) >= _VERIFIED_MAX:
                _VERIFIED.pop(next(iter(_VERIFIED)))
            _VERIFIED[key] = (result, result.auth.exp.timestamp())
        return result


_VERIFIED_MAX: Final = 4096
# (algorithm, verification key, issuer, audience, token) -> (result, expiry as epoch seconds)
_VERIFIED: dict[tuple[str, str, str, str, str], tuple[AuthenticationResult, float]] = {}


def _cert_sub(subject: str) -> str:
    """The CN of a certificate subject (``CN=svc-a,O=…``), else the whole subject."""
    for part in subject.split(","):
        key, _, value = part.strip().partition("=")
        if key.upper() == "CN" and value:
            return value
    return subject.strip()


def jwt_auth(cfg: AuthConfig) -> JWTAuth[Caller, Token]:
    """Litestar's JWT auth configured from ``cfg`` (issuer, audience, exp required)."""
    return JWTAuth[Caller, Token](
        token_secret=cfg.key,
        algorithm=cfg.algorithm,
        retrieve_user_handler=_caller,
        exclude=["^/schema"],
        exclude_opt_key=EXCLUDE_KEY,
        accepted_issuers=[cfg.issuer],
        accepted_audiences=[cfg.audience],
        require_claims=["exp", "sub"],
        openapi_security_scheme_name=SCHEME,
        description="OAuth2 bearer JWT; the `roles` claim names the caller's roles",
    )


def auth_middleware(cfg: AuthConfig) -> DefineMiddleware:
    """The authentication middleware (JWT, client certificate, allow-list)."""
    base = jwt_auth(cfg).middleware
    kwargs = dict(base.kwargs)
    return DefineMiddleware(_bind(cfg), *base.args, **kwargs)


def _bind(cfg: AuthConfig) -> type[LedgerAuthMiddleware]:
    return type("BoundLedgerAuthMiddleware", (LedgerAuthMiddleware,), {"config": cfg})


def security_components(cfg: AuthConfig) -> Components:
    """The OpenAPI security scheme (referenced per handler by ``SECURITY``)."""
    scheme = jwt_auth(cfg).openapi_components.security_schemes or {}
    return Components(security_schemes=dict(scheme) | {SCHEME: _scheme()})


def _scheme() -> SecurityScheme:
    return SecurityScheme(
        type="http",
        scheme="bearer",
        bearer_format="JWT",
        description="OAuth2 bearer JWT; the `roles` claim names the caller's roles",
    )


def route_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """``"<METHOD> <path template>"``: the key of the role → route matrix."""
    template = connection.scope.get("path_template") or connection.url.path
    return f"{connection.scope.get('method', 'GET')} {template}"


def rbac_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Allow the call only if the caller's roles are granted the route by the policy matrix.

    Raises:
        PermissionDeniedException: denied (the detail names the roles that would be allowed).
    """
    caller = connection.scope.get("user")
    roles = caller.roles if isinstance(caller, Caller) else ()
    decision = decide(roles, route_of(connection))
    connection.scope.setdefault("state", {})["decision"] = decision
    if not decision.allowed:
        raise PermissionDeniedException(
            f"{route_of(connection)}: {decision.reason}", extra={"policy_version": decision.policy_version}
        )
