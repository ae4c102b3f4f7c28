"""Property-based requests from the ingestor's own OpenAPI schema: never a 5xx.

503 is the documented answer to a broker outage; the broker is up here, so any 5xx is
a defect.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error


def test_no_request_gets_a_server_error(settings) -> None:
    schema = schemathesis.openapi.from_url(f"{settings.ingestor_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6, "the ingestor's OpenAPI schema lost operations"
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=30, deadline=None, suppress_health_check=list(HealthCheck)
        )
        def no_server_error(case) -> None:
            case.call_and_validate(checks=[not_a_server_error])

        no_server_error()
