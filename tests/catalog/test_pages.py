"""The catalog pages and the playground, through the test client: what each shows, who may see
it, how many queries it costs, and that pasted message content goes nowhere."""

import json
import logging
from urllib.parse import parse_qs, urljoin

import lxml.html
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.catalog_file import parse_catalog
from catalog.loader import Loader
from catalog.models import PolicyVersion, Provider
from catalog.review import versions as review
from tests.canary import everything_stored

CANARY = "CANARY-7f3e"
HTMX = {"HX-Request": "true"}
COUNT = "//*[@data-testid='result-count']"
ELIGIBLE = "//ol[contains(@class, 'eligible-list')]/li/code"
TIMELINE = "//ol[@class='timeline']/li"
ERRORS = "//*[@id='result']//*[@role='alert']/p"


@pytest.fixture(autouse=True)
def _check_the_shared_catalog_version_on_every_request(settings):
    # Otherwise a snapshot compiled by an earlier request stays in use for a second, and a test
    # that changes the catalog would see the old one.
    settings.CATALOG_VERSION_CHECK_SECONDS = 0


def _find(response, xpath) -> list:
    return lxml.html.fromstring(response.content.decode()).xpath(xpath)


def _words(element) -> str:
    return " ".join(element.text_content().split())


def _text(response, xpath) -> list[str]:
    """The text of every element the XPath finds, whitespace collapsed."""
    return [_words(element) for element in _find(response, xpath)]


def _catalog_rows(response) -> list[tuple[str, str]]:
    """(model, provider name) of each row of the endpoint table, in order."""
    return [
        (row.findtext("td[@data-label='Model']/code"), row.findtext("td[@data-label='Provider']/a"))
        for row in _find(response, "//*[@id='results']//tbody/tr[td/@data-label='Model']")
    ]


def _all_bytes_in_cache() -> bytes:
    """Every key and (pickled) value of the cache: a dict in LocMemCache, a database in Redis."""
    store = cache._cache
    if isinstance(store, dict):
        return b"".join(key.encode() + value for key, value in store.items())
    client = store.get_client()
    return b"".join(key + (client.get(key) or b"") for key in client.scan_iter())


def _many_more_providers(count: int) -> dict:
    """A catalog of `count` more providers, each serving both models of the small catalog and a
    model of its own, with an endpoint override."""
    providers = [
        {
            "slug": f"extra-{n}",
            "name": f"Extra {n}",
            "headquarters": "FR",
            "domains": [f"extra-{n}.example"],
            "policy": {
                "training": "no",
                "retention": "days",
                "retention_days": n + 1,
                "review_due": "2099-01-01",
                "source_url": f"https://extra-{n}.example/privacy",
                "evidence": {
                    "training": "We do not train on API data.",
                    "retention": f"Inputs are deleted after {n + 1} days.",
                    "headquarters": "Extra SAS, Paris.",
                },
            },
        }
        for n in range(count)
    ]
    models = [{"slug": f"extra/model-{n}", "name": f"Extra model {n}"} for n in range(count)]
    endpoints = [
        {"model": model, "provider": f"extra-{n}"}
        for n in range(count)
        for model in ("acme/chat", "acme/tiny", f"extra/model-{n}")
    ]
    endpoints[0]["policy"] = {
        "retention": "zero",
        "source_url": "https://extra-0.example/chat",
        "evidence": {"retention": "Chat keeps nothing."},
    }
    models += [{"slug": "acme/chat", "name": "Acme Chat"}, {"slug": "acme/tiny", "name": "Tiny"}]
    return {"providers": providers, "models": models, "endpoints": endpoints}


@pytest.fixture
def grow_catalog(personas, django_capture_on_commit_callbacks):
    """`grow_catalog(count)`: approves `count` more providers with three endpoints each."""

    def grow(count=20):
        # Approval publishes the new catalog version on commit; the snapshot notices it.
        with django_capture_on_commit_callbacks(execute=True):
            Loader(approve_as=personas.reviewer).load(parse_catalog(_many_more_providers(count)))

    return grow


# --- The endpoint catalog -----------------------------------------------------------------------


def test_anyone_can_read_the_catalog_without_signing_in(client, small_catalog):
    response = client.get("/catalog/")

    assert response.status_code == 200
    assert "<html" in response.content.decode()
    assert set(_catalog_rows(response)) == {
        ("acme/chat", "Safe AI"),
        ("acme/chat", "Month AI"),
        ("acme/chat", "Free AI"),
        ("acme/tiny", "Free AI"),
        ("acme/tiny", "Month AI"),
    }


def test_the_result_count_says_how_many_of_all_endpoints_are_shown(client, small_catalog):
    everything = client.get("/catalog/")
    filtered = client.get("/catalog/?require=no-training")

    assert _text(everything, COUNT) == ["5 of 5 endpoints"]
    assert _text(filtered, COUNT) == ["3 of 5 endpoints"]


def test_requiring_zero_retention_leaves_only_the_zero_retention_provider(client, small_catalog):
    response = client.get("/catalog/?require=zero-retention")

    assert _catalog_rows(response) == [("acme/chat", "Safe AI")]
    assert _find(response, "//input[@name='require'][@value='zero-retention']")[0].checked


def test_two_required_tags_must_both_hold(client, small_catalog):
    response = client.get("/catalog/?require=no-training&require=no-safety-retention")

    assert _catalog_rows(response) == [("acme/chat", "Safe AI")]


def test_searching_keeps_the_endpoints_whose_id_contains_the_text(client, small_catalog):
    by_model = client.get("/catalog/?q=tiny")
    by_provider = client.get("/catalog/?q=MONTH")

    assert _catalog_rows(by_model) == [("acme/tiny", "Free AI"), ("acme/tiny", "Month AI")]
    assert _catalog_rows(by_provider) == [("acme/chat", "Month AI"), ("acme/tiny", "Month AI")]
    assert _text(by_model, COUNT) == ["2 of 5 endpoints"]


def test_a_search_that_matches_nothing_says_so(client, small_catalog):
    response = client.get("/catalog/?q=nothing-like-this")

    assert _catalog_rows(response) == []
    assert _text(response, "//*[@id='results']//td[@class='empty']") == [
        "No endpoint satisfies these filters."
    ]
    assert _text(response, COUNT) == ["0 of 5 endpoints"]


def test_sorting_by_retention_puts_zero_first_and_indefinite_last(client, small_catalog):
    response = client.get("/catalog/?sort=retention")

    assert _catalog_rows(response) == [
        ("acme/chat", "Safe AI"),  # zero
        ("acme/chat", "Month AI"),  # 30 days
        ("acme/tiny", "Month AI"),  # 90 days
        ("acme/chat", "Free AI"),  # indefinite
        ("acme/tiny", "Free AI"),
    ]
    assert _text(response, "//th/a[@aria-sort='ascending']") == ["Retention"]


def test_sorting_by_provider_orders_rows_by_provider_then_model(client, small_catalog):
    response = client.get("/catalog/?sort=provider")

    assert [provider for _, provider in _catalog_rows(response)] == [
        "Free AI",
        "Free AI",
        "Month AI",
        "Month AI",
        "Safe AI",
    ]


def _follow_sort_link(client, url, column):
    (href,) = _find(client.get(url), f"//th/a[. = '{column}']/@href")
    return client.get(urljoin(url, href))


def test_following_a_sort_link_sorts_by_that_column(client, small_catalog):
    response = _follow_sort_link(client, "/catalog/", "Retention")

    assert _catalog_rows(response)[0] == ("acme/chat", "Safe AI")
    assert _text(response, "//th/a[@aria-sort='ascending']") == ["Retention"]


def test_following_a_sort_link_keeps_the_current_filters(client, small_catalog):
    response = _follow_sort_link(client, "/catalog/?require=no-training&q=chat", "Retention")

    assert _catalog_rows(response) == [("acme/chat", "Safe AI"), ("acme/chat", "Month AI")]
    assert _text(response, COUNT) == ["2 of 5 endpoints"]


def test_sort_links_carry_every_current_filter_and_the_new_sort(client, small_catalog):
    response = client.get("/catalog/?require=no-training&q=chat&sort=provider")

    (href,) = _find(response, "//th/a[. = 'Retention']/@href")
    assert parse_qs(href.lstrip("?")) == {
        "require": ["no-training"],
        "q": ["chat"],
        "sort": ["retention"],
    }


def test_an_htmx_request_gets_only_the_results_partial(client, small_catalog):
    response = client.get("/catalog/?require=zero-retention", headers=HTMX)

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert '<section class="card" id="results">' in body
    assert 'id="sort-control" hx-swap-oob="true"' in body  # keeps the form's sort in step
    assert _catalog_rows(response) == [("acme/chat", "Safe AI")]


@pytest.mark.parametrize(
    "query",
    [
        "sort=__class__",
        "sort=",
        "require=not-a-tag",
        "require=cert:soc2",
        "require=",
        "require=zero-retention&require=zero-retention",
        "q=" + "x" * 5000,
        "q=%00%ff",
    ],
)
def test_unknown_sort_keys_tags_and_odd_searches_are_ignored_safely(client, small_catalog, query):
    response = client.get(f"/catalog/?{query}")

    assert response.status_code == 200


def test_an_unknown_sort_key_falls_back_to_the_model_order(client, small_catalog):
    assert _catalog_rows(client.get("/catalog/?sort=bogus")) == _catalog_rows(
        client.get("/catalog/?sort=model")
    )


def test_an_unknown_tag_filters_nothing_and_is_not_shown_as_chosen(client, small_catalog):
    response = client.get("/catalog/?require=not-a-tag")

    assert len(_catalog_rows(response)) == 5
    assert _find(response, "//input[@name='require'][@checked]") == []


def test_the_catalog_list_costs_the_same_queries_however_many_endpoints_there_are(
    client, small_catalog, grow_catalog, django_assert_num_queries
):
    client.get("/catalog/")  # compiles the snapshot
    with django_assert_num_queries(1):  # the provider names
        client.get("/catalog/")

    grow_catalog(20)
    client.get("/catalog/")
    with django_assert_num_queries(1):
        response = client.get("/catalog/?sort=retention")

    assert _text(response, COUNT) == ["65 of 65 endpoints"]


def test_the_htmx_results_partial_costs_the_same_queries_as_the_page(
    client, small_catalog, grow_catalog, django_assert_num_queries
):
    grow_catalog(10)
    client.get("/catalog/")
    with django_assert_num_queries(1):
        client.get("/catalog/?require=no-training&q=extra", headers=HTMX)


def test_the_snapshot_is_compiled_once_and_not_on_every_request(
    client, small_catalog, django_assert_max_num_queries, django_assert_num_queries
):
    with django_assert_max_num_queries(6):  # catalog version, versions, endpoints, names
        client.get("/catalog/")
    with django_assert_num_queries(1):
        client.get("/catalog/")


# --- Provider pages -----------------------------------------------------------------------------


def test_the_provider_list_shows_every_provider_with_its_endpoint_count(client, small_catalog):
    response = client.get("/catalog/providers/")

    assert response.status_code == 200
    assert _text(response, "//ul[@class='tiles']/li") == [
        "Free AI 2 endpoints · HQ US",
        "Month AI 2 endpoints · HQ US",
        "Safe AI 1 endpoint · HQ DE",
    ]


def test_the_provider_page_shows_each_field_with_its_evidence_and_source(client, small_catalog):
    response = client.get("/catalog/providers/safe-ai/")

    assert response.status_code == 200
    rows = {
        row.findtext("dt"): row.find("dd")
        for row in _find(response, "(//dl[@class='policy'])[1]/div[@class='policy-row']")
    }
    assert {label: " ".join(dd.text.split()) for label, dd in rows.items()} == {
        "Training on API data": "no",
        "Retention": "zero",
        "Safety retention": "none",
        "Publishes prompts": "no",
        "Certifications": "iso27001, soc2",
        "Regions": "eu",
    }
    (evidence,) = rows["Retention"].xpath("blockquote[@class='evidence']")
    assert _words(evidence) == "“We keep nothing.” source"
    assert evidence.xpath("a/@href") == ["https://safe.example/policy"]
    (training,) = rows["Training on API data"].xpath("blockquote[@class='evidence']")
    assert _words(training) == "“We never train on API data.” source"
    assert _text(
        response, "//p[starts-with(., 'Source:')]/a[@href='https://safe.example/policy']"
    ) == ["https://safe.example/policy"]
    assert (
        "verified Oct. 1, 2026, review due Jan. 1, 2099" in _text(response, "//p[@class='lead']")[0]
    )


def test_a_provider_with_no_stated_fields_shows_them_as_unknown(client, small_catalog):
    response = client.get("/catalog/providers/free-ai/")

    rows = dict(
        zip(
            _text(response, "//dl[@class='policy']//dt"),
            _text(response, "//dl[@class='policy']//dd"),
            strict=True,
        )
    )
    assert rows["Training on API data"].startswith("yes “We may use your prompts")
    assert rows["Safety retention"] == "not stated — counts as unknown"


def test_the_provider_page_lists_its_endpoints_and_their_overrides(client, small_catalog):
    response = client.get("/catalog/providers/month-ai/")

    endpoints = _text(response, "//td[@data-label='Model']/code")
    assert endpoints == ["acme/chat", "acme/tiny"]
    assert _text(response, "//details[@class='override']/summary") == [
        "acme/tiny@month-ai overrides 2 fields"
    ]
    assert "kept 90 d" in _text(response, "//tbody/tr")[1]


def test_an_unknown_provider_is_a_404(client, small_catalog):
    response = client.get("/catalog/providers/no-such-provider/")

    assert response.status_code == 404


def test_the_timeline_shows_a_proposed_change_with_its_field_differences(
    client, small_catalog, personas
):
    provider = Provider.objects.get(slug="safe-ai")
    current = review.current_version(provider)
    content = {name: getattr(current, name) for name in PolicyVersion.CONTENT_FIELDS}
    review.propose(
        provider,
        None,
        {**content, "retention": "days", "retention_days": 7},
        origin="refresh",
        proposed_by=personas.reviewer,
    )

    response = client.get("/catalog/providers/safe-ai/")

    newest = _find(response, TIMELINE)[0]
    assert newest.findtext(".//strong") == "safe-ai v2"
    assert newest.xpath(".//span[contains(@class, 'badge')]/text()") == ["proposed"]
    assert "refresh" in _words(newest.find(".//small"))
    changes = [_words(li) for li in newest.xpath(".//ul[@class='changes']/li")]
    assert changes == ["retention: zero → days", "retention_days: — → 7"]
    # The proposal is not the policy yet: the default still shows zero retention.
    assert "zero retention" in _text(response, "//td[@data-label='Policy']")[0]


def test_the_timeline_shows_the_first_import_as_approved_with_every_given_field(
    client, small_catalog
):
    response = client.get("/catalog/providers/month-ai/")

    items = _find(response, TIMELINE)
    subjects = sorted(item.findtext(".//strong") for item in items)
    assert subjects == ["acme/tiny@month-ai v1", "month-ai v1"]
    assert {item.xpath(".//span[contains(@class, 'badge')]")[0].text for item in items} == {
        "approved"
    }
    override = next(i for i in items if i.findtext(".//strong").startswith("acme/tiny"))
    changes = [_words(li) for li in override.xpath(".//ul[@class='changes']/li")]
    assert "retention: — → days" in changes
    assert "retention_days: — → 90" in changes


def _queries_of(send) -> list[str]:
    """The SQL of the second of two calls of `send`: the first may compile the snapshot."""
    send()
    with CaptureQueriesContext(connection) as queries:
        send()
    return [query["sql"] for query in queries.captured_queries]


def _propose_retention_changes(provider_slug, *days, by):
    provider = Provider.objects.get(slug=provider_slug)
    for n in days:
        review.propose(
            provider,
            None,
            {"retention": "days", "retention_days": n},
            origin="refresh",
            proposed_by=by,
        )


def test_the_provider_page_costs_the_same_queries_however_many_other_endpoints_there_are(
    client, small_catalog, grow_catalog, django_assert_num_queries
):
    small = _queries_of(lambda: client.get("/catalog/providers/month-ai/"))

    grow_catalog(20)
    client.get("/catalog/providers/month-ai/")
    with django_assert_num_queries(len(small)):
        response = client.get("/catalog/providers/month-ai/")

    assert _text(response, "//td[@data-label='Model']/code") == ["acme/chat", "acme/tiny"]


def test_the_provider_page_costs_the_same_queries_however_long_its_history_is(
    client, small_catalog, personas, django_assert_num_queries
):
    short = _queries_of(lambda: client.get("/catalog/providers/month-ai/"))
    _propose_retention_changes("month-ai", 7, 14, 21, by=personas.member)

    with django_assert_num_queries(len(short)):
        response = client.get("/catalog/providers/month-ai/")

    assert len(_find(response, TIMELINE)) == 5


# --- The playground -----------------------------------------------------------------------------


@pytest.fixture
def signed_in(client_for, personas, small_catalog):
    return client_for(personas.member)


def _resolve(client, data, *, htmx=True):
    return client.post("/playground/", data, headers=HTMX if htmx else {})


def _excluded(response) -> dict[str, list[str]]:
    """Excluded endpoint id -> its reason codes."""
    return {
        item.findtext("code"): item.xpath("span[contains(@class, 'badge')]/text()")
        for item in _find(response, "//*[@id='result']//details//li")
    }


def test_the_playground_needs_a_signed_in_user(client, small_catalog):
    get = client.get("/playground/")
    post = client.post("/playground/", {"model": "acme/chat"})

    for response in (get, post):
        assert response.status_code == 302
        assert response["Location"] == "/login/?next=/playground/"


def test_the_playground_form_offers_the_catalog_models_and_tags(signed_in):
    response = signed_in.get("/playground/")

    assert response.status_code == 200
    assert _find(response, "//select[@id='pg-model']/option/@value") == [
        "anyapi/auto",
        "acme/chat",
        "acme/tiny",
    ]
    assert "zero-retention" in _find(response, "//input[@name='require']/@value")
    assert _text(response, "//*[@id='result']") == ["Choose constraints and press Resolve."]


def test_form_controls_resolve_to_eligible_and_excluded_endpoints_with_reasons(signed_in):
    response = _resolve(signed_in, {"model": "acme/chat", "require": ["zero-retention"]})

    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert _text(response, "//*[@id='result']/h2")[0].startswith("1 eligible, 2 excluded")
    assert _text(response, ELIGIBLE) == ["acme/chat@safe-ai"]
    assert _excluded(response) == {
        "acme/chat@free-ai": ["not_zero_retention"],
        "acme/chat@month-ai": ["not_zero_retention"],
    }
    assert _text(response, "//*[@id='result']//tbody//code") == ["require:zero-retention"]


def test_several_form_constraints_each_name_their_reason(signed_in):
    response = _resolve(
        signed_in,
        {
            "model": "acme/chat",
            "block_training": "1",
            "retention_days": "30",
            "extra_tags": "region:eu",
        },
    )

    assert _text(response, ELIGIBLE) == ["acme/chat@safe-ai"]
    excluded = _excluded(response)
    assert excluded["acme/chat@month-ai"] == ["region_mismatch"]
    assert set(excluded["acme/chat@free-ai"]) >= {"trains_on_data", "retention_exceeds_limit"}


def test_a_full_page_post_renders_the_whole_page_with_the_choices_kept(signed_in):
    response = _resolve(
        signed_in, {"model": "acme/chat", "require": ["zero-retention"]}, htmx=False
    )

    assert "<html" in response.content.decode()
    assert _find(response, "//select[@id='pg-model']/option[@selected]/@value") == ["acme/chat"]
    assert _find(response, "//input[@name='require'][@value='zero-retention']")[0].checked
    assert _text(response, ELIGIBLE) == ["acme/chat@safe-ai"]


def test_pasted_json_with_an_unknown_tag_names_the_field_path(signed_in):
    pasted = {"model": "acme/chat", "providers": {"require": ["zero-retension"]}}

    response = _resolve(signed_in, {"json": json.dumps(pasted)})

    errors = _text(response, ERRORS)
    assert len(errors) == 1
    assert errors[0].startswith("providers.require.0: unknown tag 'zero-retension'")
    assert _find(response, ELIGIBLE) == []


def test_pasted_text_that_is_not_json_gets_a_clear_error(signed_in):
    response = _resolve(signed_in, {"json": "model: acme/chat"})

    assert _text(response, ERRORS) == ["The pasted request is not JSON: Expecting value (line 1)."]


def test_pasted_json_that_is_not_an_object_gets_a_clear_error(signed_in):
    response = _resolve(signed_in, {"json": '["acme/chat"]'})

    assert _text(response, ERRORS) == ["The request must be a JSON object."]


def test_pasted_json_for_an_unknown_model_says_the_catalog_has_no_such_model(signed_in):
    response = _resolve(signed_in, {"json": json.dumps({"model": "acme/nope"})})

    assert _text(response, ERRORS) == ["The catalog has no model 'acme/nope'."]


def test_pasted_json_wins_over_the_form_controls(signed_in):
    pasted = {"model": "acme/tiny", "providers": {"exclude": ["free-ai"]}}

    response = _resolve(
        signed_in, {"model": "acme/chat", "require": ["zero-retention"], "json": json.dumps(pasted)}
    )

    assert _text(response, ELIGIBLE) == ["acme/tiny@month-ai"]
    assert _excluded(response) == {"acme/tiny@free-ai": ["provider_excluded"]}


def test_when_nothing_is_eligible_the_page_offers_the_smallest_relaxation(signed_in):
    response = _resolve(signed_in, {"model": "acme/tiny", "require": ["zero-retention"]})

    box = _text(response, "//*[@id='result']//div[@class='notice-box']")
    assert len(box) == 1
    assert box[0].startswith("Nothing is eligible. Blocking constraints: require:zero-retention.")
    relaxations = _text(response, "//*[@data-testid='relaxation']")
    assert relaxations, "a relaxation should be offered"
    assert any("zero-retention" in r for r in relaxations)
    assert _find(response, "//*[@id='result']//details/@open") == [""]
    assert _excluded(response) == {
        "acme/tiny@free-ai": ["not_zero_retention"],
        "acme/tiny@month-ai": ["not_zero_retention"],
    }


def _pasted_with_canary():
    return json.dumps(
        {
            "model": "acme/chat",
            "providers": {"require": ["no-training"]},
            "messages": [{"role": "user", "content": f"my secret is {CANARY}"}],
            "prompt": CANARY,
            "temperature": 0.2,
        }
    )


def test_pasted_message_content_is_not_echoed_back_by_the_htmx_result(signed_in):
    response = _resolve(signed_in, {"json": _pasted_with_canary()})

    assert _text(response, ELIGIBLE) == [
        "acme/chat@month-ai",
        "acme/chat@safe-ai",
    ]
    assert CANARY not in response.content.decode()


def test_pasted_message_content_is_not_echoed_back_by_the_full_page(signed_in):
    response = _resolve(signed_in, {"json": _pasted_with_canary()}, htmx=False)

    assert _text(response, ELIGIBLE) == [
        "acme/chat@month-ai",
        "acme/chat@safe-ai",
    ]
    assert CANARY not in response.content.decode()


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "full-page"])
def test_pasted_message_content_is_stored_nowhere_and_never_logged(signed_in, htmx, caplog):
    caplog.set_level(logging.DEBUG)
    valid = _pasted_with_canary()
    invalid = json.dumps({"model": 7, "messages": [{"role": "user", "content": CANARY}]})
    not_json = valid.replace("{", "[", 1)

    for pasted in (valid, invalid, not_json):
        assert _resolve(signed_in, {"json": pasted}, htmx=htmx).status_code == 200

    assert CANARY not in everything_stored()
    cache.set("scan-check", "seen")  # to prove that the scan sees the cache's entries
    cached = _all_bytes_in_cache()
    assert b"scan-check" in cached
    assert CANARY.encode() not in cached
    assert [r for r in caplog.records if CANARY in r.getMessage()] == []


def test_the_playground_costs_the_same_queries_however_big_the_catalog_is(
    signed_in, grow_catalog, django_assert_num_queries
):
    data = {"model": "acme/chat", "require": ["no-training"]}
    small = _queries_of(lambda: _resolve(signed_in, data))
    # The signed-in page's own queries (session, user, menus); the catalog is the snapshot.
    assert [sql for sql in small if '"catalog_' in sql] == []

    grow_catalog(20)
    _resolve(signed_in, data)
    with django_assert_num_queries(len(small)):
        response = _resolve(signed_in, data)

    assert _text(response, "//*[@id='result']/h2")[0].startswith("22 eligible")


# --- Every tag of the policy language filters the catalog page, as in the API ------------------


@pytest.mark.parametrize(
    ("require", "endpoints"),
    [
        ("region:eu", {"acme/chat@safe-ai"}),
        ("cert:iso27001", {"acme/chat@safe-ai"}),
        (
            "hq:us",
            {"acme/chat@month-ai", "acme/chat@free-ai", "acme/tiny@free-ai", "acme/tiny@month-ai"},
        ),
        ("no-training,region:us", {"acme/chat@month-ai", "acme/tiny@month-ai"}),
    ],
)
def test_the_catalog_page_filters_by_region_certification_and_headquarters(
    client, small_catalog, require, endpoints
):
    response = client.get("/catalog/", {"require": require})
    names = {"Safe AI": "safe-ai", "Month AI": "month-ai", "Free AI": "free-ai"}
    found = {f"{model}@{names[provider]}" for model, provider in _catalog_rows(response)}
    api = client.get("/api/v1/catalog/endpoints", {"require": require}).json()["endpoints"]
    assert found == endpoints == {e["endpoint"] for e in api}


def test_the_catalog_page_offers_a_menu_for_each_kind_of_tag(client, small_catalog):
    response = client.get("/catalog/", {"require": "region:eu"})
    page = lxml.html.fromstring(response.content.decode())
    regions = page.xpath("//select[@data-testid='filter-region']/option/@value")
    assert regions == ["", "region:eu", "region:us"]
    assert page.xpath("//select[@data-testid='filter-region']/option[@selected]/@value") == [
        "region:eu"
    ]
    assert "cert:soc2" in page.xpath("//select[@data-testid='filter-cert']/option/@value")
    assert page.xpath("//select[@data-testid='filter-hq']/option/@value") == ["", "hq:DE", "hq:US"]


def test_a_tag_outside_the_vocabulary_is_named_and_left_out(client, small_catalog):
    response = client.get("/catalog/", {"require": "region:mars"})
    assert _text(response, "//*[@data-testid='refused-tags']/p") == [
        "'mars' is not a region code; use one of "
        "us, ca, latam, br, eu, uk, ch, me, af, apac, in, cn, jp, kr, sg, au. "
        "It was left out of the filter."
    ]
    assert _text(response, COUNT) == ["5 of 5 endpoints"]


def _constraints(response) -> list[list[str]]:
    return [
        [_words(td) for td in row.xpath("td")]
        for row in _find(response, "//tr[@data-testid='constraint-row']")
    ]


def test_the_playground_shows_each_constraint_with_its_value(client_for, personas, small_catalog):
    client = client_for(personas.owner)
    response = client.post(
        "/playground/",
        {"model": "acme/chat", "retention_days": "7", "block_training": "1", "exclude": "free-ai"},
        headers=HTMX,
    )
    rows = _constraints(response)
    assert ["retention_days", "at most 7 days", "request"] in rows
    assert ["training_allowed", "blocked: no provider that may train", "request"] in rows
    assert ["exclude:free-ai", "excluded: free-ai", "request"] in rows


def test_the_playground_resolves_as_an_account_and_as_a_key(client_for, personas, small_catalog):
    from dashboard import privacy
    from dashboard.models import ApiKey

    privacy.save_defaults(personas.account, {"classification": "internal"})
    key, _ = ApiKey.issue(name="Strict", account=personas.account)
    privacy.save_guardrail(key, {"classification": "confidential"})
    client = client_for(personas.owner)

    as_account = client.post(
        "/playground/", {"model": "acme/chat", "as": "account:acme"}, headers=HTMX
    )
    as_key = client.post(
        "/playground/", {"model": "acme/chat", "as": f"key:{key.prefix}"}, headers=HTMX
    )

    assert ["classification", "internal", "account"] in _constraints(as_account)
    assert _text(as_account, "//h2")[0].startswith("2 eligible")
    assert ["classification", "confidential", "key"] in _constraints(as_key)
    assert _text(as_key, "//h2")[0].startswith("1 eligible")


def test_the_playground_never_resolves_as_another_accounts_key(client_for, personas, small_catalog):
    from dashboard.models import ApiKey

    theirs, _ = ApiKey.issue(name="Theirs", account=personas.other_account)
    client = client_for(personas.owner)

    response = client.post(
        "/playground/", {"model": "acme/chat", "as": f"key:{theirs.prefix}"}, headers=HTMX
    )
    page = client.get("/playground/").content.decode()

    assert "You can resolve only as your own accounts" in response.content.decode()
    assert theirs.prefix not in page and "account:globex" not in page
