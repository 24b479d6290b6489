"""schemathesis against the API's own OpenAPI schema: whatever it sends, no 5xx, and every
answer conforms to the schema (status codes, content types, bodies).

It runs through the real application and database with an admin token (so it reaches
every route). The one 5xx the API documents, 503 from a chain action while no bridge
runs in the process, is the only server error accepted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CheckContext

from gateway.api.tokens import Role
from sep2 import Codec
from tests.gateway.api.conftest import ApiHarness, start_api

BRIDGE_ACTIONS = {("POST", "/api/v1/admin/clearing")}


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory, codec: Codec) -> Iterator[ApiHarness]:
    path: Path = tmp_path_factory.mktemp("schemathesis") / "api.db"
    yield from start_api(f"sqlite:///{path}", codec)


def only_documented_server_errors(ctx: CheckContext, response: object, case: object) -> None:
    """No 5xx but a chain action's 503 without a bridge."""
    status = response.status_code  # type: ignore[attr-defined]
    if status < 500:
        return
    key = (case.method.upper(), case.path)  # type: ignore[attr-defined]
    assert status == 503 and key in BRIDGE_ACTIONS, f"{status} from {key}"


def test_no_server_errors(harness: ApiHarness) -> None:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    schema = schemathesis.openapi.from_asgi("/openapi.json", harness.client.app)
    headers = {"Authorization": f"Bearer {harness.token(Role.ADMIN, ttl=3600)}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15  # every route of the API is in the schema

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers=headers,
                excluded_checks=[not_a_server_error, positive_data_acceptance],
                additional_checks=[only_documented_server_errors],
            )

        run()
