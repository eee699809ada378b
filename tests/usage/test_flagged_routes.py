"""The privacy team's list of routes the catalog does not know, re-checked on every visit."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Endpoint, LanguageModel, Provider
from catalog.policy import snapshot
from usage.events import Event
from usage.ingest import ingest
from usage.models import Route, Status

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC).replace(microsecond=0)
URL = "/review/unknown-routes/"


def _event(account, model, provider, hours_ago=1):
    return Event(
        timestamp=NOW - timedelta(hours=hours_ago),
        event_id=uuid.uuid4(),
        account=account.slug,
        api_key=None,
        model=model,
        provider=provider,
        tokens_prompt=10,
        tokens_completion=5,
        latency_ms=300,
        status=Status.OK,
        cost_nanos=None,
    )


@pytest.fixture
def traffic(personas, small_catalog):
    """Known acme/chat@safe-ai; unknown acme/chat@shadow-cloud (3 requests, 2 accounts) and
    rogue/model@rogue-ai (1 request)."""
    acme, globex = personas.account, personas.other_account
    ingest(
        [
            _event(acme, "acme/chat", "safe-ai"),
            _event(acme, "acme/chat", "shadow-cloud"),
            _event(acme, "acme/chat", "shadow-cloud", hours_ago=30),
            _event(globex, "acme/chat", "shadow-cloud"),
            _event(globex, "rogue/model", "rogue-ai"),
        ]
    )


@pytest.fixture
def reviewer(client_for, personas):
    return client_for(personas.reviewer)


def _listed(page: str) -> list[str]:
    return [m for m in ("shadow-cloud", "rogue-ai", "safe-ai") if m in page]


def test_ingest_flags_routes_the_catalog_does_not_have(traffic):
    assert set(Route.objects.flagged().values_list("model", "provider")) == {
        ("acme/chat", "shadow-cloud"),
        ("rogue/model", "rogue-ai"),
    }


def test_the_privacy_team_sees_unknown_routes_with_their_traffic(reviewer, traffic):
    response = reviewer.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert _listed(page) == ["shadow-cloud", "rogue-ai"]
    assert page.index("shadow-cloud") < page.index("rogue-ai")  # most requests first
    assert '<td data-label="Requests">3</td>' in page
    assert '<td data-label="Accounts">2</td>' in page
    first_seen = Route.objects.get(provider="rogue-ai").first_seen
    assert f"{first_seen:%Y-%m-%d %H:%M}" in page


def test_a_route_the_catalog_now_has_is_marked_known_and_leaves_the_list(reviewer, traffic):
    # The endpoint alone, as the catalog holds it once a reviewed change adds it.
    provider = Provider.objects.create(slug="shadow-cloud", name="Shadow Cloud")
    Endpoint.objects.create(model=LanguageModel.objects.get(slug="acme/chat"), provider=provider)
    snapshot.forget()

    page = reviewer.get(URL).content.decode()

    assert _listed(page) == ["rogue-ai"]
    assert "1 route now has an endpoint in the catalog" in page
    assert Route.objects.get(provider="shadow-cloud").known is True
    assert "now has an endpoint" not in reviewer.get(URL).content.decode()


def test_the_list_says_when_every_route_is_known(reviewer, personas, small_catalog):
    ingest([_event(personas.account, "acme/chat", "safe-ai")])
    assert "No unknown routes" in reviewer.get(URL).content.decode()


@pytest.mark.parametrize("persona", ["owner", "admin", "member", "outsider"])
def test_only_the_privacy_team_sees_unknown_routes(client_for, personas, traffic, persona):
    assert client_for(getattr(personas, persona)).get(URL).status_code == 403


def test_unknown_routes_need_a_sign_in(client, traffic):
    response = client.get(URL)
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_the_page_makes_a_fixed_number_of_queries(reviewer, personas, traffic):
    reviewer.get(URL)  # compiles the catalog snapshot once
    with CaptureQueriesContext(connection) as few:
        reviewer.get(URL)
    ingest(
        [
            _event(personas.account, f"rogue/model-{n}", "rogue-ai", hours_ago=n % 40 + 1)
            for n in range(60)
        ]
    )
    with CaptureQueriesContext(connection) as many:
        reviewer.get(URL)
    assert len(few) == len(many)
