"""The request log: raw events still kept, filtered, paged by keyset, badges per row, tenant
isolation and a fixed number of queries."""

import re
from datetime import timedelta

import lxml.html
import pytest

from dashboard.models import ApiKey
from tests.usage import test_activity_queries as queries
from tests.usage.test_activity_pages import NAVIGATION_QUERIES, REQUEST_QUERIES
from tests.usage.test_activity_queries import NOW, event, record
from usage import request_log
from usage.models import Status

pytestmark = pytest.mark.django_db
now, catalog = queries.now, queries.catalog
PAGE = "/a/acme/requests/"


@pytest.fixture
def owner(client_for, personas):
    return client_for(personas.owner)


@pytest.fixture
def key(personas):
    return ApiKey.issue(name="Backend", account=personas.account)[0]


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200
    page = lxml.html.fromstring(response.content.decode())
    return [
        [" ".join(td.text_content().split()) for td in tr.xpath("td")]
        for tr in page.xpath("//tr[@data-testid='request-row']")
    ]


def test_each_kept_request_shows_its_metadata_and_the_endpoints_badges(owner, catalog, now, key):
    record(
        event(NOW - timedelta(minutes=5), api_key=key.prefix, latency_ms=1500),
        event(
            NOW - timedelta(hours=2), "acme/tiny", "free-ai", status=Status.ERROR, cost_nanos=None
        ),
    )

    rows = _rows(owner.get(PAGE))

    assert len(rows) == 2
    newest, older = rows
    assert newest[0] == f"{NOW - timedelta(minutes=5):%Y-%m-%d %H:%M:%S}"
    assert newest[1] == f"Backend {key.prefix}…"
    assert newest[2].startswith("acme/chat at safe-ai") and "zero retention" in newest[2].lower()
    assert newest[3:] == ["100 / 20", "1.50 s", "ok", "$0.0010"]
    assert older[1] == "no key reported"
    assert older[5:] == ["error", "–"]


def test_the_log_filters_by_key_model_provider_and_status(owner, catalog, now, key):
    record(
        event(NOW - timedelta(minutes=1), api_key=key.prefix),
        event(NOW - timedelta(minutes=2), "acme/tiny", "free-ai"),
        event(NOW - timedelta(minutes=3), "acme/chat", "month-ai", status=Status.TIMEOUT),
    )

    assert len(_rows(owner.get(PAGE, {"key": key.prefix}))) == 1
    assert len(_rows(owner.get(PAGE, {"model": "acme/chat"}))) == 2
    assert len(_rows(owner.get(PAGE, {"provider": "free-ai"}))) == 1
    assert [r[5] for r in _rows(owner.get(PAGE, {"status": "timeout"}))] == ["timeout"]
    assert len(_rows(owner.get(PAGE, {"status": "bogus"}))) == 3  # an unknown status is ignored


def test_pages_follow_each_other_by_keyset_without_gaps_or_repeats(personas, catalog, now):
    record(*(event(NOW - timedelta(minutes=n // 2)) for n in range(7)))  # timestamps tie in pairs
    filters = request_log.Filters()

    seen, cursor = [], None
    while True:
        rows, cursor = request_log.page(personas.account, filters, cursor, size=3)
        seen += [row.event_id for row in rows]
        if cursor is None:
            break

    assert len(seen) == len(set(seen)) == 7


def test_the_older_link_carries_the_filters_and_the_cursor(owner, catalog, now, monkeypatch):
    monkeypatch.setattr(request_log, "PAGE", 2)
    record(*(event(NOW - timedelta(minutes=n), "acme/chat", "month-ai") for n in range(3)))
    first = owner.get(PAGE, {"provider": "month-ai"})
    older = re.search(r'href="\?([^"]+)" rel="next"', first.content.decode()).group(1)

    assert "provider=month-ai" in older and "after=" in older
    assert len(_rows(owner.get(f"{PAGE}?{older.replace('&amp;', '&')}"))) == 1


def test_a_malformed_cursor_shows_the_first_page(owner, catalog, now):
    record(event(NOW - timedelta(minutes=1)))
    assert len(_rows(owner.get(PAGE, {"after": "not-a-cursor"}))) == 1


def test_another_accounts_requests_are_never_shown(client_for, personas, catalog, now):
    record(event(NOW - timedelta(minutes=1)))
    assert _rows(client_for(personas.outsider).get("/a/globex/requests/")) == []
    assert client_for(personas.outsider).get(PAGE).status_code == 404


def test_a_member_reads_the_log(client_for, personas, catalog, now):
    record(event(NOW - timedelta(minutes=1)))
    assert len(_rows(client_for(personas.member).get(PAGE))) == 1


@pytest.mark.parametrize("rows", [3, 60])
def test_the_page_sends_a_fixed_number_of_queries(
    owner, personas, catalog, now, rows, django_assert_num_queries
):
    keys = [ApiKey.issue(name=f"key {n}", account=personas.account)[0] for n in range(3)]
    record(
        *(
            event(NOW - timedelta(minutes=n), "acme/chat", "safe-ai", api_key=keys[n % 3].prefix)
            for n in range(rows)
        )
    )
    owner.get(PAGE)
    with django_assert_num_queries(REQUEST_QUERIES + NAVIGATION_QUERIES + 2):  # keys, events
        owner.get(PAGE, {"model": "acme/chat"})
