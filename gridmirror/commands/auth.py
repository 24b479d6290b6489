"""``gridmirror auth``: tokens for the REST API and engineering-authority keys.

- ``auth token --role R --subject S [--ttl N]`` prints a bearer token signed with the
  gateway's JWT key (gateway.api_jwt_secret, else the key file under data_dir, made on
  first use), so a running gateway on the same settings accepts it.
- ``auth keygen --out FILE`` writes a new Ed25519 engineering-authority key (PKCS#8 PEM,
  mode 0600) and prints its public key for ``add-key``.
- ``auth sign-reading --key FILE [READING.json]`` reads a reading (or a list, or a
  ``{"readings": [...]}`` batch) as JSON and prints it with its
  ``engineering_authority_signature``.
- ``auth add-key --name N (--public-key B64 | --key FILE)`` registers a public key in the
  gateway's database (no running gateway needed).
"""

from __future__ import annotations

import json
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gridmirror.commands.gateway import _database, _settings

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROLES = ("admin", "operator", "meter", "viewer")


@click.group()
def auth() -> None:
    """REST API tokens and engineering-authority keys."""


@auth.command()
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the holder may do.")
@click.option("--subject", required=True, help="Who holds it (a meter token: the meter's LFDI).")
@click.option("--ttl", type=click.IntRange(1), help="Seconds it lasts (default: api_token_ttl).")
def token(role: str, subject: str, ttl: int | None) -> None:
    """Print a bearer token for the REST API."""
    from gateway.api import authority_of
    from gateway.api.tokens import Role
    from sep2 import IdentityError, normalise_lfdi

    settings = _settings().gateway
    if role == "meter":
        try:
            subject = normalise_lfdi(subject)
        except IdentityError as exc:
            raise click.ClickException(f"a meter token's subject is its LFDI: {exc}") from None
    try:
        authority = authority_of(settings)
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read the JWT key: {exc}") from None
    click.echo(authority.issue(Role(role), subject, ttl or settings.api_token_ttl))


@auth.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Where to write the private key (PEM, mode 0600).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def keygen(out: Path, force: bool) -> None:
    """Make an Ed25519 engineering-authority key pair; print the public key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    from gateway.api.signatures import public_key_text

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(out, flags, 0o600)
    except FileExistsError:
        raise click.ClickException(f"{out} exists; give --force to overwrite it") from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    os.chmod(out, 0o600)  # an overwritten file keeps its old mode otherwise
    click.echo(public_key_text(key.public_key()))


def _private_key(path: Path) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
    except (ValueError, TypeError) as exc:
        raise click.ClickException(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise click.ClickException(f"{path}: not an Ed25519 key")
    return key


def _sign_one(key: Ed25519PrivateKey, reading: Any, where: str) -> dict[str, Any]:
    from pydantic import ValidationError

    from gateway.api.intake import signed_fields
    from gateway.api.schemas import ReadingIn
    from gateway.api.signatures import sign

    if not isinstance(reading, dict):
        raise click.ClickException(f"{where}: a reading is a JSON object")
    body = {k: v for k, v in reading.items() if k != "engineering_authority_signature"}
    try:
        item = ReadingIn.model_validate({**body, "engineering_authority_signature": "-"})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise click.ClickException(f"{where}: {field}: {first['msg']}") from None
    body["engineering_authority_signature"] = sign(key, signed_fields(item))
    return body


def _plain(value: Any) -> Any:
    # Decimals go out as JSON numbers: at most 6 places and 1e6, so a float carries them.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@auth.command("sign-reading")
@click.option(
    "--key",
    "key_file",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The engineering authority's private key (from `auth keygen`).",
)
@click.argument("reading", type=click.File("r"), default="-")
def sign_reading(key_file: Path, reading: Any) -> None:
    """Print READING (a JSON file, or stdin) signed; a list or a batch signs every item."""
    key = _private_key(key_file)
    try:
        data = json.load(reading, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"the reading is not JSON: {exc}") from None
    out: Any
    if isinstance(data, list):
        out = [_sign_one(key, r, f"reading {i}") for i, r in enumerate(data)]
    elif isinstance(data, dict) and isinstance(data.get("readings"), list):
        out = {
            **data,
            "readings": [_sign_one(key, r, f"reading {i}") for i, r in enumerate(data["readings"])],
        }
    else:
        out = _sign_one(key, data, "the reading")
    json.dump(_plain(out), sys.stdout, indent=2)
    click.echo()


@auth.command("add-key")
@click.option("--name", required=True, help="A name for the key (letters, digits, . _ -).")
@click.option("--public-key", help="The public key, base64 of its 32 bytes.")
@click.option(
    "--key",
    "key_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Or the private key file, whose public half is registered.",
)
def add_key(name: str, public_key: str | None, key_file: Path | None) -> None:
    """Register an engineering-authority public key in the gateway's database."""
    import re
    import time

    from gateway.api.admin import register_key
    from gateway.api.signatures import public_key_text
    from gateway.errors import Refusal

    if (public_key is None) == (key_file is None):
        raise click.ClickException("give exactly one of --public-key and --key")
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", name):
        raise click.ClickException("a key's name is 1-64 letters, digits, '.', '_' or '-'")
    if key_file is not None:
        public_key = public_key_text(_private_key(key_file).public_key())
    assert public_key is not None
    database = _database(_settings())
    try:
        database.ensure_schema()
        with database.write_session() as session:
            row = register_key(session, name, public_key, time.time())
            key_id = row.id
    except Refusal as exc:
        raise click.ClickException(exc.problem) from None
    finally:
        database.dispose()
    click.echo(f"registered engineering-authority key {key_id} {name!r}: {public_key}")
