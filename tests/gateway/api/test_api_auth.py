"""Bearer tokens: forged, foreign and expired ones are 401, a wrong role is 403."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from stat import S_IMODE

import jwt
import pytest

from gateway.api.tokens import Role, TokenAuthority, TokenError, load_or_create_secret
from tests.gateway.api.conftest import EPOCH, METER_IDS, SECRET, ApiHarness, payload

A = METER_IDS[0]
AUTHORITY = TokenAuthority(SECRET, issuer="gridmirror", audience="gridmirror-api")


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _claims(**changes: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "gridmirror", "aud": "gridmirror-api", "sub": "mallory", "role": "admin",
        "iat": now, "exp": now + 600,
    }  # fmt: skip
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _tampered(token: str) -> str:
    """A viewer token whose payload was swapped for an admin's, signature kept."""
    header, _, signature = token.split(".")
    return f"{header}.{_b64(_claims(role='admin'))}.{signature}"


FORGED = {
    "alg none": _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(_claims()) + ".",
    "alg none, upper": _b64({"alg": "NONE", "typ": "JWT"}) + "." + _b64(_claims()) + ".",
    "wrong key": jwt.encode(_claims(), b"another-secret-of-32-bytes-or-more!!", algorithm="HS256"),
    "wrong issuer": jwt.encode(_claims(iss="someone-else"), SECRET, algorithm="HS256"),
    "wrong audience": jwt.encode(_claims(aud="another-api"), SECRET, algorithm="HS256"),
    "expired": jwt.encode(
        _claims(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600), SECRET, "HS256"
    ),
    "no expiry": jwt.encode(_claims(exp=None), SECRET, algorithm="HS256"),
    "no subject": jwt.encode(_claims(sub=None), SECRET, algorithm="HS256"),
    "unknown role": jwt.encode(_claims(role="root"), SECRET, algorithm="HS256"),
    "HS512": jwt.encode(_claims(), SECRET, algorithm="HS512"),
    "garbage": "not.a.token",
    "tampered payload": _tampered(jwt.encode(_claims(role="viewer"), SECRET, "HS256")),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(FORGED))
def test_forged_tokens_are_refused(name: str) -> None:
    with pytest.raises(TokenError):
        AUTHORITY.verify(FORGED[name])


def test_issued_token_round_trips() -> None:
    token = AUTHORITY.issue(Role.METER, A, 60)
    claims = AUTHORITY.verify(token)
    assert (claims.subject, claims.role) == (A, Role.METER)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_secret_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "api-jwt.key"
    first = load_or_create_secret(path)
    assert S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == first
    assert len(first) >= 32


def test_forged_tokens_are_401_through_the_app(sqlite_api: ApiHarness) -> None:
    api = sqlite_api
    body = payload(api.key, A, EPOCH, "1", "1")
    for name, token in FORGED.items():
        response = api.client.post(
            "/api/v1/meters/readings", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, name
        assert response.headers["www-authenticate"].startswith('Bearer realm="gridmirror"')
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"}):
        response = api.client.get("/api/v1/meters", headers=headers)
        assert response.status_code == 401
        assert "www-authenticate" in response.headers
    assert api.count("outbox") == 0


# (method, path, body, roles admitted besides admin)
ROUTES = [
    ("GET", "/api/v1/meters", None, {"operator", "viewer"}),
    ("GET", f"/api/v1/meters/{A}", None, {"operator", "viewer", "meter"}),
    ("PUT", f"/api/v1/meters/{A}/owner", {"wallet": "11111111111111111111111111111111"}, set()),
    ("GET", "/api/v1/readings", None, {"operator", "viewer", "meter"}),
    ("GET", "/api/v1/settlements", None, {"operator", "viewer"}),
    ("GET", "/api/v1/chain/status", None, {"operator", "viewer"}),
    ("GET", "/api/v1/dead-letters", None, {"operator", "viewer"}),
    ("POST", "/api/v1/admin/dead-letters/redrive", {"all": True}, {"operator"}),
    ("GET", "/api/v1/admin/authority-keys", None, {"operator"}),
    ("POST", "/api/v1/admin/authority-keys", {"name": "x", "public_key": "A" * 43 + "="}, set()),
]


def test_role_matrix(sqlite_api: ApiHarness) -> None:
    api = sqlite_api
    for method, path, body, admitted in ROUTES:
        for role in Role:
            response = api.client.request(
                method, path, json=body, headers=api.headers(role, subject=A)
            )
            allowed = role is Role.ADMIN or role.value in admitted
            if allowed:
                assert response.status_code < 400, (method, path, role, response.text)
            else:
                assert response.status_code == 403, (method, path, role, response.text)
        assert api.client.request(method, path, json=body).status_code == 401


def test_meter_token_sees_only_its_meter(sqlite_api: ApiHarness) -> None:
    api = sqlite_api
    other = METER_IDS[1]
    headers = api.headers(Role.METER, subject=A)
    assert api.client.get(f"/api/v1/meters/{other}", headers=headers).status_code == 403
    assert api.client.get(f"/api/v1/readings?meter_id={other}", headers=headers).status_code == 403
    assert api.client.get("/api/v1/readings", headers=headers).status_code == 200
