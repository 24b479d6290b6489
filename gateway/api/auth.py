"""Who may call what: the bearer token of a request, checked against a route's roles.

Every API route depends on :meth:`Guard.allow` with the roles it admits. No token, a
malformed, forged, expired or foreign one: 401 with ``WWW-Authenticate: Bearer``. A good
token whose role the route does not admit: 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.api.problems import ApiProblem
from gateway.api.tokens import Claims, Role, TokenAuthority, TokenError

REALM = "gridmirror"
_bearer = HTTPBearer(auto_error=False, description="A token from `gridmirror auth token`.")


def unauthorised(detail: str, error: str | None = "invalid_token") -> ApiProblem:
    """401 with the challenge RFC 6750 asks for."""
    challenge = f'Bearer realm="{REALM}"'
    if error is not None:
        safe = detail.replace('"', "'")
        challenge += f', error="{error}", error_description="{safe}"'
    return ApiProblem(401, detail, headers={"WWW-Authenticate": challenge})


class Guard:
    """Checks tokens with one TokenAuthority."""

    def __init__(self, authority: TokenAuthority) -> None:
        self.authority = authority

    def allow(self, *roles: Role) -> Callable[..., Awaitable[Claims]]:
        """A dependency admitting the given roles (admin is always admitted)."""
        admitted = frozenset((Role.ADMIN, *roles))

        async def check(
            credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008
        ) -> Claims:
            if credentials is None:
                raise unauthorised("a bearer token is required", error=None)
            try:
                claims = self.authority.verify(credentials.credentials)
            except TokenError as exc:
                raise unauthorised(str(exc)) from None
            if claims.role not in admitted:
                allowed = ", ".join(sorted(r.value for r in admitted))
                raise ApiProblem(403, f"a {claims.role.value} token may not do this ({allowed})")
            return claims

        return check
