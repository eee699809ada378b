"""The public catalog changelog: page, Atom feed and JSON of approved changes after the import."""

import xml.etree.ElementTree as ET

import lxml.html
import pytest

from catalog.models import PolicyVersion
from catalog.review.versions import approve, propose

ATOM = "{http://www.w3.org/2005/Atom}"


def _change(provider, reviewer, endpoint=None, **fields):
    current = PolicyVersion.objects.current().get(provider__slug=provider, endpoint=endpoint)
    content = {name: getattr(current, name) for name in PolicyVersion.CONTENT_FIELDS}
    content["evidence"] = {
        "retention": {
            "passage": "Inputs are deleted at once.",
            "url": "https://month.example/terms",
        }
    }
    proposal = propose(current.provider, endpoint, {**content, **fields}, origin="manual")
    return approve(proposal, reviewer, "verified against the new terms")


@pytest.fixture
def changed(small_catalog, personas):
    return _change("month-ai", personas.reviewer, retention="zero", retention_days=None)


def _feed(response):
    return ET.fromstring(response.content)  # noqa: S314 -- the console's own feed, not untrusted


def _entries(response):
    page = lxml.html.fromstring(response.content.decode())
    return page.xpath("//*[@data-testid='changelog-entry']")


def test_the_first_import_is_not_news(client, small_catalog):
    response = client.get("/catalog/changes/")
    assert response.status_code == 200
    assert _entries(response) == []
    assert "No approved change since the first import." in response.content.decode()


def test_an_approved_change_shows_what_changed_for_which_endpoints_with_evidence(client, changed):
    response = client.get("/catalog/changes/")

    (entry,) = _entries(response)
    text = " ".join(entry.text_content().split())
    rows = [
        [" ".join(td.text_content().split()) for td in tr.xpath("td")]
        for tr in entry.xpath(".//tbody/tr")
    ]
    assert ["retention", "days", "zero"] in rows
    assert ["retention_days", "30", "—"] in rows
    assert "2 endpoints affected" in text
    assert "acme/chat@month-ai" in text and "acme/tiny@month-ai" in text
    assert "Inputs are deleted at once." in text
    assert entry.xpath(".//a[@href='https://month.example/terms']")


def test_the_json_lists_changes_with_before_after_endpoints_and_evidence(client, changed):
    body = client.get("/catalog/changes.json").json()

    (change,) = body["changes"]
    assert change["provider"] == "month-ai"
    assert {"field": "retention", "before": "days", "after": "zero"} in change["changes"]
    assert change["endpoints"] == ["acme/chat@month-ai", "acme/tiny@month-ai"]
    assert change["evidence"][0] == {
        "field": "retention",
        "quote": "Inputs are deleted at once.",
        "source_url": "https://month.example/terms",
        "captured_at": None,
        "basis": "public",
    }
    assert change["approved_at"] and change["catalog_version"]


def test_the_atom_feed_has_one_entry_per_change(client, changed):
    response = client.get("/catalog/changes.atom")

    assert response["Content-Type"].startswith("application/atom+xml")
    feed = _feed(response)
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 1
    assert "month-ai" in entries[0].find(f"{ATOM}title").text
    assert "Inputs are deleted at once." in entries[0].find(f"{ATOM}summary").text


def test_every_view_filters_by_provider(client, changed, personas):
    _change("safe-ai", personas.reviewer, review_due="2100-01-01")

    assert len(_entries(client.get("/catalog/changes/"))) == 2
    assert len(_entries(client.get("/catalog/changes/?provider=safe-ai"))) == 1
    assert [
        c["provider"]
        for c in client.get("/catalog/changes.json?provider=month-ai").json()["changes"]
    ] == ["month-ai"]
    feed = _feed(client.get("/catalog/changes.atom?provider=nobody"))
    assert feed.findall(f"{ATOM}entry") == []


def test_an_endpoint_override_names_only_its_endpoint(client, small_catalog, personas):
    from catalog.models import Endpoint

    endpoint = Endpoint.objects.get(model__slug="acme/tiny", provider__slug="month-ai")
    _change("month-ai", personas.reviewer, endpoint=endpoint, retention_days=60)

    (change,) = client.get("/catalog/changes.json").json()["changes"]
    assert change["endpoints"] == ["acme/tiny@month-ai"]


def test_the_page_costs_the_same_queries_for_more_changes(
    client, changed, personas, django_assert_num_queries
):
    client.get("/catalog/changes/")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get("/catalog/changes/")
    for n in range(3):
        _change("safe-ai", personas.reviewer, review_due=f"210{n}-01-01")
        _change("month-ai", personas.reviewer, review_due=f"210{n}-01-01")
    with django_assert_num_queries(len(one.captured_queries)):
        client.get("/catalog/changes/")
