"""The privacy settings, key guardrail and available-models pages through the test client: who
may see and change what, that the preview never saves, that saving audits, that invalid or
looser values are refused next to their field, and that query counts do not grow with the
catalog."""

import copy
import uuid
from datetime import timedelta

import lxml.html
import pytest
from django.utils import timezone

from catalog.catalog_file import parse_catalog
from catalog.loader import Loader
from catalog.policy import snapshot
from dashboard import privacy
from dashboard.models import ApiKey, AuditEvent, KeyGuardrail, PrivacyDefaults, ProviderException
from tests.catalog.conftest import SMALL_CATALOG
from usage.events import Event
from usage.ingest import ingest

HTMX = {"HX-Request": "true"}
DAYS = "Enter a whole number of days, 0 or more (0 means zero retention)"
SUMMARY = "//*[@data-testid='preview-summary']"


@pytest.fixture(autouse=True)
def _fresh_snapshot(settings):
    # A snapshot compiled in another test may carry the same version number for another catalog.
    settings.CATALOG_VERSION_CHECK_SECONDS = 0
    snapshot.forget()
    yield
    snapshot.forget()


def _load(catalog: dict) -> dict:
    Loader().load(parse_catalog(catalog))
    snapshot.forget()
    return catalog


@pytest.fixture
def small_catalog(db):
    """Five endpoints: under `internal` chat@safe-ai and chat@month-ai are eligible; tiny is not."""
    return _load(SMALL_CATALOG)


def _grown_catalog(extra: int) -> dict:
    """The small catalog with `extra` more providers, each serving a model of its own."""
    catalog = copy.deepcopy(SMALL_CATALOG)
    for n in range(extra):
        slug = f"more-{n}"
        policy = {
            "training": "no",
            "retention": "days",
            "retention_days": 7 + n,
            "source_url": f"https://{slug}.example/privacy",
            "evidence": {"training": "No training.", "retention": f"Kept {7 + n} days."},
        }
        catalog["providers"].append(
            {"slug": slug, "name": f"More {n}", "domains": [f"{slug}.example"], "policy": policy}
        )
        catalog["models"].append({"slug": f"more/model-{n}", "name": f"Model {n}"})
        catalog["endpoints"].append({"model": f"more/model-{n}", "provider": slug})
    return catalog


@pytest.fixture
def key(personas):
    key, _ = ApiKey.issue(name="Gateway", account=personas.account)
    return key


def _form(
    classification="internal",
    block_training=False,
    retention_days="",
    require=(),
    require_more="",
    exclude=(),
    only=None,
    regulated_certifications="",
    stale_as_unknown=False,
) -> dict:
    """A POST of the settings form as the browser sends it."""
    data = {
        "classification": classification,
        "retention_days": retention_days,
        "require": list(require),
        "require_more": require_more,
        "exclude": list(exclude),
        "only_mode": "any" if only is None else "list",
        "only": list(only or ()),
        "regulated_certifications": regulated_certifications,
    }
    if block_training:
        data["block_training"] = "on"
    if stale_as_unknown:
        data["stale_as_unknown"] = "on"
    return data


def _guardrail_form(**values) -> dict:
    values.setdefault("classification", "")
    data = _form(**values)
    del data["regulated_certifications"]
    return data


def _html(response):
    return lxml.html.fromstring(response.content.decode())


def _text(response, xpath) -> list[str]:
    return [" ".join(e.text_content().split()) for e in _html(response).xpath(xpath)]


def _errors(response, field) -> list[str]:
    return _text(response, f"//*[@id='errors-{field}']/p")


def _saved(personas) -> dict:
    return PrivacyDefaults.objects.get(account=personas.account).as_vocabulary()


def _set_defaults(personas, **vocabulary):
    privacy.save_defaults(personas.account, vocabulary)


PAGES = ["/a/{slug}/privacy/", "/a/{slug}/models/", "/a/{slug}/keys/{prefix}/guardrail/"]
POSTS = [
    "/a/{slug}/privacy/",
    "/a/{slug}/privacy/preview",
    "/a/{slug}/keys/{prefix}/guardrail/",
    "/a/{slug}/keys/{prefix}/guardrail/preview",
]


# --- Who may see and change what ----------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_member_sees_every_privacy_page(client_for, personas, key, small_catalog, path):
    response = client_for(personas.member).get(path.format(slug="acme", prefix=key.prefix))
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/a/{slug}/privacy/", "/a/{slug}/keys/{prefix}/guardrail/"])
def test_member_sees_the_settings_read_only_with_no_save_button(
    client_for, personas, key, small_catalog, path
):
    response = client_for(personas.member).get(path.format(slug="acme", prefix=key.prefix))

    page = _html(response)
    controls = page.xpath("//form[contains(@class, 'privacy-form')]//input[@type!='hidden']")
    assert controls and all(c.get("disabled") is not None for c in controls)
    assert page.xpath("//form[@hx-post]") == []
    assert page.xpath("//button[@type='submit' and starts-with(normalize-space(), 'Save')]") == []
    assert "owners and admins change" in response.content.decode()


@pytest.mark.parametrize("path", POSTS)
def test_member_cannot_change_or_preview_settings(client_for, personas, key, small_catalog, path):
    _set_defaults(personas, classification="internal")

    response = client_for(personas.member).post(
        path.format(slug="acme", prefix=key.prefix), _form(classification="public")
    )

    assert response.status_code == 403
    assert _saved(personas)["classification"] == "internal"
    assert not KeyGuardrail.objects.exists()


@pytest.mark.parametrize("path", PAGES + POSTS)
def test_outsider_gets_404_on_every_privacy_page(client_for, personas, key, small_catalog, path):
    client = client_for(personas.outsider)
    url = path.format(slug="acme", prefix=key.prefix)

    response = client.post(url, _form()) if path in POSTS else client.get(url)

    assert response.status_code == 404
    assert not AuditEvent.objects.filter(account=personas.account).exists()


@pytest.mark.parametrize("path", PAGES + POSTS)
def test_anonymous_visitor_is_sent_to_sign_in(client, personas, key, small_catalog, path):
    url = path.format(slug="acme", prefix=key.prefix)

    response = client.post(url, _form()) if path in POSTS else client.get(url)

    assert response.status_code == 302
    assert response.url.startswith("/login/")


def test_another_accounts_key_guardrail_is_404_even_for_an_owner(
    client_for, personas, small_catalog
):
    theirs, _ = ApiKey.issue(name="Theirs", account=personas.other_account)
    client = client_for(personas.owner)

    assert client.get(f"/a/acme/keys/{theirs.prefix}/guardrail/").status_code == 404
    assert client.get(f"/a/globex/keys/{theirs.prefix}/guardrail/").status_code == 404
    response = client.post(f"/a/acme/keys/{theirs.prefix}/guardrail/", _guardrail_form())
    assert response.status_code == 404
    assert not KeyGuardrail.objects.exists()


def test_a_revoked_keys_guardrail_is_404(client_for, personas, key, small_catalog):
    key.revoked_at = timezone.now()
    key.save()

    response = client_for(personas.owner).get(f"/a/acme/keys/{key.prefix}/guardrail/")

    assert response.status_code == 404


# --- The settings page and its preview ----------------------------------------------------------


def test_settings_page_shows_the_saved_class_and_what_it_allows(
    client_for, personas, small_catalog
):
    response = client_for(personas.owner).get("/a/acme/privacy/")

    checked = _html(response).xpath("//input[@name='classification' and @checked]/@value")
    assert checked == ["internal"]
    assert _text(response, SUMMARY) == ["2 of 5 endpoints eligible, 1 model unavailable"]
    assert "Confidential" in _text(response, "//label[contains(@class, 'preset-card')]")[2]


def test_preview_shows_the_effect_of_a_preset_without_saving_anything(
    client_for, personas, small_catalog
):
    client = client_for(personas.owner)
    client.get("/a/acme/privacy/")
    before = _saved(personas)

    response = client.post("/a/acme/privacy/preview", _form("confidential"), headers=HTMX)

    assert response.status_code == 200
    assert _text(response, SUMMARY) == ["1 of 5 endpoints eligible, 1 model unavailable"]
    assert _saved(personas) == before
    assert not AuditEvent.objects.filter(action="privacy.defaults_changed").exists()


def test_preview_is_the_partial_with_fresh_error_slots(client_for, personas, small_catalog):
    response = client_for(personas.owner).post(
        "/a/acme/privacy/preview", _form("public"), headers=HTMX
    )

    page = _html(response)
    assert page.xpath("//section[@id='preview']")
    assert page.xpath("//h1") == []
    slots = page.xpath("//*[@hx-swap-oob='true']/@id")
    assert "errors-retention_days" in slots and "errors-require_more" in slots


def test_preview_names_the_models_that_become_unavailable(client_for, personas, small_catalog):
    _set_defaults(personas, classification="public")

    response = client_for(personas.owner).post(
        "/a/acme/privacy/preview", _form("internal"), headers=HTMX
    )

    assert _text(response, "//*[@data-testid='newly-unavailable']/li") == ["acme/tiny"]


def test_preview_warns_about_models_the_account_used_lately(client_for, personas, small_catalog):
    _set_defaults(personas, classification="public")
    used = lambda model, provider: Event(  # noqa: E731
        timezone.now(), uuid.uuid4(), "acme", None, model, provider, 10, 10, 100, 0, None
    )
    ingest(
        [used("acme/tiny", "free-ai"), used("acme/tiny", "free-ai"), used("acme/chat", "safe-ai")]
    )

    response = client_for(personas.owner).post(
        "/a/acme/privacy/preview", _form("internal"), headers=HTMX
    )

    assert _text(response, "//*[@data-testid='used-unavailable']//li") == ["acme/tiny — 2 requests"]


def test_preview_groups_exclusions_by_reason_code_with_counts(client_for, personas, small_catalog):
    response = client_for(personas.owner).post(
        "/a/acme/privacy/preview", _form("confidential"), headers=HTMX
    )

    reasons = _text(response, "//ul[@class='reason-list']/li//summary")
    assert reasons[0] == "not_zero_retention 4 endpoints: keeps data (zero retention required)"
    assert "retention_exceeds_limit 4 endpoints: keeps data longer than allowed" in reasons
    assert "trains_on_data 2 endpoints: may train on the data" in reasons


def test_preview_counts_an_account_wide_exception(client_for, personas, small_catalog):
    ProviderException.objects.create(
        account=personas.account,
        provider="free-ai",
        until=timezone.now() + timedelta(days=1),
        reason="trial",
    )

    response = client_for(personas.owner).post(
        "/a/acme/privacy/preview", _form("public", exclude=["free-ai"]), headers=HTMX
    )

    assert _text(response, SUMMARY) == ["5 of 5 endpoints eligible, 0 models unavailable"]


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"retention_days": "-1"}, "retention_days", DAYS),
        ({"retention_days": "a week"}, "retention_days", DAYS),
        ({"require_more": "cheap"}, "require_more", "Unknown tag 'cheap'"),
        (
            {"require_more": "region:mars"},
            "require_more",
            "'mars' is not a region code; use one of us",
        ),
        (
            {"require_more": "cert:made-up-cert"},
            "require_more",
            "'made-up-cert' is not a certification id",
        ),
        ({"require_more": "hq:XX"}, "require_more", "'XX' is not an ISO 3166 country code"),
        (
            {"regulated_certifications": "SOC 2"},
            "regulated_certifications",
            "'SOC 2' is not a certification id",
        ),
        ({"exclude": ["nobody-ai"]}, "exclude", "not one of the available choices"),
        ({"only": ["nobody-ai"]}, "only", "not one of the available choices"),
    ],
)
def test_preview_shows_an_invalid_value_next_to_its_field(
    client_for, personas, small_catalog, values, field, message
):
    response = client_for(personas.owner).post(
        "/a/acme/privacy/preview", _form(**values), headers=HTMX
    )

    assert response.status_code == 200
    assert message in " ".join(_errors(response, field))
    assert _text(response, SUMMARY) == []
    assert "Fix 1 setting" in _text(response, "//*[@id='preview']//*[@role='alert']")[0]


# --- Saving -------------------------------------------------------------------------------------


def test_owner_saves_a_preset_and_the_change_is_audited_before_and_after(
    client_for, personas, small_catalog
):
    client = client_for(personas.owner)
    client.get("/a/acme/privacy/")

    response = client.post(
        "/a/acme/privacy/",
        _form("confidential", block_training=True, require=["no-publishing"]),
        follow=True,
    )

    assert "Privacy settings saved" in _text(response, "//li[contains(@class, 'message')]")[0]
    assert _saved(personas)["classification"] == "confidential"
    event = AuditEvent.objects.get(action="privacy.defaults_changed")
    assert event.actor == personas.owner and event.target == "acme"
    assert event.before == {
        "classification": "internal",
        "training_allowed": None,
        "require": [],
    }
    assert event.after == {
        "classification": "confidential",
        "training_allowed": False,
        "require": ["no-publishing"],
    }


def test_admin_saves_tags_and_providers_in_the_apis_canonical_form(
    client_for, personas, small_catalog
):
    client_for(personas.admin).post(
        "/a/acme/privacy/",
        _form(
            "regulated",
            retention_days="0",
            require_more="HQ:de, cert:SOC2",
            only=["safe-ai", "month-ai"],
            regulated_certifications="iso27001, soc2",
            stale_as_unknown=True,
        ),
    )

    saved = _saved(personas)
    assert saved["retention_days"] == 0
    assert saved["require"] == ["cert:soc2", "hq:DE"]
    assert saved["only"] == ["month-ai", "safe-ai"]
    assert saved["regulated_certifications"] == ["iso27001", "soc2"]
    assert saved["stale_as_unknown"] is True


def test_saving_unchanged_settings_records_no_audit_event(client_for, personas, small_catalog):
    client = client_for(personas.owner)
    client.get("/a/acme/privacy/")

    client.post("/a/acme/privacy/", _form("internal"))

    assert not AuditEvent.objects.filter(action="privacy.defaults_changed").exists()


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"retention_days": "-1"}, "retention_days", DAYS),
        ({"require_more": "cheap"}, "require_more", "Unknown tag 'cheap'"),
    ],
)
def test_saving_an_invalid_value_shows_the_error_next_to_the_field_and_saves_nothing(
    client_for, personas, small_catalog, values, field, message
):
    client = client_for(personas.owner)
    client.get("/a/acme/privacy/")
    before = _saved(personas)

    response = client.post("/a/acme/privacy/", _form("public", **values))

    assert response.status_code == 200
    assert message in " ".join(_errors(response, field))
    assert _saved(personas) == before
    assert not AuditEvent.objects.filter(action="privacy.defaults_changed").exists()
    posted = _html(response).xpath("//input[@name='classification' and @checked]/@value")
    assert posted == ["public"]


# --- Key guardrails -----------------------------------------------------------------------------


def test_key_list_links_each_active_key_to_its_guardrail(client_for, personas, key):
    response = client_for(personas.owner).get("/a/acme/keys/")

    links = _html(response).xpath("//a[normalize-space()='Guardrail']/@href")
    assert links == [f"/a/acme/keys/{key.prefix}/guardrail/"]


def test_guardrail_looser_than_the_account_is_refused_naming_the_account_setting(
    client_for, personas, key, small_catalog
):
    _set_defaults(personas, retention_days=30)

    response = client_for(personas.owner).post(
        f"/a/acme/keys/{key.prefix}/guardrail/", _guardrail_form(retention_days="90")
    )

    assert response.status_code == 200
    assert _errors(response, "retention_days") == [
        "Refused: this would loosen the account's retention limit "
        "(the account allows at most 30 days)."
    ]
    assert not KeyGuardrail.objects.exists()
    assert not AuditEvent.objects.filter(action="privacy.guardrail_changed").exists()


def test_guardrail_preview_flags_a_looser_value_before_saving(
    client_for, personas, key, small_catalog
):
    _set_defaults(personas, classification="confidential")

    response = client_for(personas.owner).post(
        f"/a/acme/keys/{key.prefix}/guardrail/preview",
        _guardrail_form(classification="internal"),
        headers=HTMX,
    )

    assert "account's data class" in " ".join(_errors(response, "classification"))
    assert _text(response, SUMMARY) == []


def test_guardrail_preview_layers_the_key_over_the_account(
    client_for, personas, key, small_catalog
):
    response = client_for(personas.owner).post(
        f"/a/acme/keys/{key.prefix}/guardrail/preview",
        _guardrail_form(require=["zero-retention"]),
        headers=HTMX,
    )

    assert _text(response, SUMMARY) == ["1 of 5 endpoints eligible, 1 model unavailable"]
    assert not KeyGuardrail.objects.exists()


def test_owner_saves_a_stricter_guardrail_and_it_is_audited(
    client_for, personas, key, small_catalog
):
    _set_defaults(personas, retention_days=30)

    response = client_for(personas.owner).post(
        f"/a/acme/keys/{key.prefix}/guardrail/",
        _guardrail_form(classification="confidential", retention_days="7"),
        follow=True,
    )

    assert "Guardrail of Gateway" in _text(response, "//li[contains(@class, 'message')]")[0]
    guardrail = KeyGuardrail.objects.get(key=key)
    assert (guardrail.classification, guardrail.retention_days) == ("confidential", 7)
    event = AuditEvent.objects.get(action="privacy.guardrail_changed")
    assert event.target == key.prefix
    assert event.after == {"classification": "confidential", "retention_days": 7}


def test_guardrail_page_shows_the_accounts_settings_it_adds_to(
    client_for, personas, key, small_catalog
):
    _set_defaults(personas, retention_days=30, exclude=["free-ai"])

    response = client_for(personas.owner).get(f"/a/acme/keys/{key.prefix}/guardrail/")

    lines = _text(response, "//section[contains(@class, 'account-layer')]//li")
    assert "Data may be kept at most 30 days." in lines
    assert "Excluded providers: free-ai." in lines


# --- Models available ---------------------------------------------------------------------------


def test_models_page_lists_reachable_models_with_badges_and_the_rest_with_the_main_reason(
    client_for, personas, small_catalog
):
    response = client_for(personas.member).get("/a/acme/models/")

    page = _html(response)
    assert [" ".join(h.text_content().split()) for h in page.xpath("//li/h2")] == [
        "acme/chat 2 endpoints"
    ]
    providers = page.xpath("//ul[@class='endpoint-list']/li/a/text()")
    assert providers == ["month-ai", "safe-ai"]
    assert page.xpath("//ul[@class='endpoint-list']//span[contains(@class, 'badge good')]")
    assert _text(response, "//ul[contains(@class, 'unavailable-list')]/li") == [
        "acme/tiny: keeps data longer than allowed (2 of 2 endpoints)"
    ]


def test_navigation_links_to_the_privacy_settings_and_models(client_for, personas, small_catalog):
    response = client_for(personas.member).get("/a/acme/models/")

    nav = _html(response).xpath("//nav[@class='mainnav']/a")
    links = {a.text_content(): a.get("href") for a in nav}
    assert links["Privacy settings"] == "/a/acme/privacy/"
    assert links["Models"] == "/a/acme/models/"
    assert [a.text_content() for a in nav if a.get("aria-current")] == ["Models"]


# --- Query counts -------------------------------------------------------------------------------


@pytest.fixture(params=[0, 40], ids=["small-catalog", "grown-catalog"])
def any_catalog(request, db):
    return _load(_grown_catalog(request.param))


@pytest.mark.parametrize(
    ("method", "path", "queries"),
    [
        ("get", "/a/acme/privacy/", 10),
        # A preview is an htmx fragment: no top bar, so no navigation queries.
        ("post", "/a/acme/privacy/preview", 6),
        ("get", "/a/acme/models/", 8),
        ("get", "/a/acme/keys/{prefix}/guardrail/", 11),
        ("post", "/a/acme/keys/{prefix}/guardrail/preview", 8),
    ],
)
def test_privacy_pages_cost_a_fixed_number_of_queries_whatever_the_catalog_size(
    client_for,
    personas,
    key,
    any_catalog,
    settings,
    django_assert_num_queries,
    method,
    path,
    queries,
):
    client = client_for(personas.owner)
    url = path.format(prefix=key.prefix)
    data = _form() if "keys" not in path else _guardrail_form()
    send = (lambda: client.post(url, data, headers=HTMX)) if method == "post" else client.get
    client.get("/a/acme/privacy/")  # creates the defaults and warms the session and snapshot
    # Keep the warm snapshot without asking the shared cache for the version: another test
    # process clearing that cache would otherwise cost a version query here.
    settings.CATALOG_VERSION_CHECK_SECONDS = 3600

    with django_assert_num_queries(queries):
        response = send() if method == "post" else send(url)

    assert response.status_code == 200


# --- Presets leave something, and saving what stops working asks first -------------------------


def test_each_preset_card_says_how_many_endpoints_it_leaves(client_for, personas, small_catalog):
    response = client_for(personas.owner).get("/a/acme/privacy/")

    counts = _text(response, "//*[@data-testid='preset-count']")
    assert counts == [
        "Leaves 5 of 5 endpoints",
        "Leaves 2 of 5 endpoints",
        "Leaves 1 of 5 endpoints",
        "Leaves 1 of 5 endpoints",
    ]


def test_preset_counts_follow_the_other_settings_in_the_live_preview(
    client_for, personas, small_catalog
):
    response = client_for(personas.owner).post(
        "/a/acme/privacy/preview", _form("internal", exclude=["safe-ai"]), headers=HTMX
    )

    counts = _text(response, "//*[@data-testid='preset-count']")
    assert counts[2:] == ["Leaves 0 of 5 endpoints: nothing to route to"] * 2


def test_saving_settings_that_leave_nothing_eligible_asks_first_and_saves_nothing(
    client_for, personas, small_catalog
):
    response = client_for(personas.owner).post(
        "/a/acme/privacy/", _form("confidential", exclude=["safe-ai"])
    )

    assert response.status_code == 200
    assert _text(response, "//*[@data-testid='confirm-save']//li") == [
        "No endpoint would be eligible: every request would be refused."
    ]
    assert _saved(personas)["classification"] == "internal"


def test_confirming_saves_settings_that_leave_nothing_eligible(client_for, personas, small_catalog):
    data = {**_form("confidential", exclude=["safe-ai"]), "confirmed": "1"}
    response = client_for(personas.owner).post("/a/acme/privacy/", data)

    assert response.status_code == 302
    assert _saved(personas)["exclude"] == ["safe-ai"]


def test_saving_settings_that_cut_off_a_model_used_lately_names_it_first(
    client_for, personas, small_catalog
):
    _set_defaults(personas, classification="public")
    ingest(
        [
            Event(
                timezone.now(), uuid.uuid4(), "acme", None, "acme/tiny", "free-ai", 1, 1, 9, 0, None
            )
        ]
    )

    response = client_for(personas.owner).post("/a/acme/privacy/", _form("internal"))

    assert _text(response, "//*[@data-testid='confirm-save']//li") == [
        "acme/tiny would have no eligible endpoint: it served 1 request in the last 30 days, "
        "which would be refused."
    ]
    assert _saved(personas)["classification"] == "public"


def test_a_guardrail_that_leaves_nothing_eligible_asks_first(
    client_for, personas, key, small_catalog
):
    path = f"/a/acme/keys/{key.prefix}/guardrail/"
    data = _guardrail_form(
        classification="regulated", require=["no-publishing"], exclude=["safe-ai"]
    )

    asked = client_for(personas.owner).post(path, data)
    assert _text(asked, "//*[@data-testid='confirm-save']//li")
    assert not KeyGuardrail.objects.filter(key=key).exists()

    saved = client_for(personas.owner).post(path, {**data, "confirmed": "1"})
    assert saved.status_code == 302
    assert KeyGuardrail.objects.get(key=key).classification == "regulated"
