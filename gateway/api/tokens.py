"""Bearer tokens of the REST API: HS256 JWTs with a role, issued and checked here.

A token names its holder (``sub``), its role (``role``: admin, operator, meter or
viewer), who issued it (``iss``), whom it is for (``aud``), when it was issued (``iat``)
and when it expires (``exp``). All six are required; only HS256 is accepted, so a token
with ``alg: none`` or any other algorithm is refused whatever it claims. A ``meter``
token's subject is the LFDI of the one meter it may post readings for.

The key is ``gateway.api_jwt_secret`` or, when that is unset, a random secret generated
once and kept in ``gateway.api_jwt_secret_file`` (mode 0600), so tokens issued by
``gridmirror auth token`` stay valid across restarts of the gateway.
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import jwt

ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32
_REQUIRED = ["exp", "iat", "iss", "aud", "sub"]


class Role(StrEnum):
    """What a token's holder may do (docs/rest-api.md has the table)."""

    ADMIN = "admin"
    OPERATOR = "operator"
    METER = "meter"
    VIEWER = "viewer"


class TokenError(Exception):
    """A token that is missing, malformed, forged, expired or not for us; one line."""


@dataclass(frozen=True, slots=True)
class Claims:
    """What a valid token says."""

    subject: str
    role: Role
    expires: int
    token_id: str


class TokenAuthority:
    """Issues and checks the gateway's tokens with one secret."""

    def __init__(self, secret: bytes, *, issuer: str, audience: str, leeway: int = 0) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the JWT secret must hold at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway

    def issue(self, role: Role, subject: str, ttl: int, *, now: float | None = None) -> str:
        """A token for ``subject`` with ``role``, valid for ``ttl`` seconds."""
        if ttl <= 0:
            raise ValueError("a token's lifetime must be positive")
        if not subject:
            raise ValueError("a token needs a subject")
        issued = int(time.time() if now is None else now)
        payload = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "role": role.value,
            "iat": issued,
            "exp": issued + ttl,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Claims:
        """The claims of a valid token; TokenError (one line) for anything else."""
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": _REQUIRED},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise TokenError("the token is not for this API (audience)") from None
        except jwt.InvalidIssuerError:
            raise TokenError("the token was not issued by this gateway (issuer)") from None
        except jwt.InvalidSignatureError:
            raise TokenError("the token's signature does not verify") from None
        except jwt.InvalidAlgorithmError:
            raise TokenError(f"the token is not signed with {ALGORITHM}") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenError(f"the token lacks the {exc.claim!r} claim") from None
        except jwt.PyJWTError as exc:
            raise TokenError(f"the token is malformed: {exc}") from None
        role = payload.get("role")
        try:
            parsed = Role(str(role))
        except ValueError:
            raise TokenError(f"the token's role {role!r} is not one of ours") from None
        subject = payload["sub"]
        if not isinstance(subject, str) or not subject:
            raise TokenError("the token's subject is empty")
        return Claims(subject, parsed, int(payload["exp"]), str(payload.get("jti", "")))


def load_or_create_secret(path: Path) -> bytes:
    """The secret kept in ``path``; a new random one (saved there, mode 0600) if none."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    else:
        secret = bytes.fromhex(text)
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"{path} holds a secret shorter than {MIN_SECRET_BYTES} bytes")
        return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(MIN_SECRET_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile: use theirs
        return load_or_create_secret(path)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secret.hex() + "\n")
    return secret
