"""Schemathesis over `/api/schema/`: every operation, as the practice's owner, with every
response check on — no 500, every response as the schema says (status, content type,
headers, body), and no operation that answers without the token. Derandomized (a fixed
seed) with a bounded number of examples per operation: about a minute on PostgreSQL.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django_scopes import scopes_disabled
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from web.api.urls import router

# PostgreSQL only: it is the production database (offsets, integer ranges and text that
# SQLite accepts fail there), and one run is enough for CI's time.
pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,
]
EXAMPLES_PER_OPERATION = 25


def _existing_ids(practice) -> dict[str, list[int]]:
    """The home practice's own ids per route prefix, so PATCH and GET reach real rows."""
    ids = {}
    with scopes_disabled():
        for prefix, viewset, _basename in router.registry:
            ids[prefix] = list(
                viewset.model.objects.filter(practice=practice).values_list("pk", flat=True)
            )
    return ids


def _prefix_of(path: str) -> str:
    return re.sub(r"^/api/v1/|/\{id\}.*$|/$", "", path)


@pytest.fixture
def wsgi_app():
    """The app as a server runs it, minus closing the database connection after each
    request (Django's test client does the same): that would end the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_every_api_operation_keeps_to_its_schema(world, wsgi_app):
    """Hostile but well-typed input never gets a 500 or an answer the schema does not promise."""
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    headers = {"Authorization": f"Token {world.home.objects['token_key']}"}
    ids = _existing_ids(world.home.practice)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        # Mostly the practice's own rows, plus ids that exist nowhere or past any range.
        path_ids = ids.get(_prefix_of(operation.path), []) + [0, 987654, 2**63, 10**30]

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(), path_id=st.sampled_from(path_ids))
        def run(case, path_id):
            if "id" in (case.path_parameters or {}):
                case.path_parameters["id"] = path_id
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except FailureGroup as group:  # every operation runs; all failures are reported
            failures.append(f"{operation.method.upper()} {operation.path}: {group}")
    assert not failures, "\n\n".join(failures)
