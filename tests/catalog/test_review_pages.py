"""The privacy team's review pages through the test client: who may see them, the queue's
filters and query counts, four-eyes, required comments, what approving and rejecting do to the
catalog, the side-by-side diff, the impact report and "refresh all now"."""

import threading
import uuid
from datetime import date, timedelta

import lxml.html
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import (
    CatalogState,
    PolicyChange,
    PolicySource,
    PolicyVersion,
    Provider,
    RefreshRun,
    ReviewEvent,
    SourceAlert,
)
from catalog.refresh.pipeline import refresh_source
from catalog.review import changes
from catalog.review import versions as review
from catalog.review.views import diff_columns
from dashboard import privacy
from dashboard.models import Account, ApiKey, AuditEvent, KeyGuardrail, ProviderException
from tests.catalog.conftest import MONTH_PAGE
from tests.catalog.local_server import LocalServer
from usage.events import Event
from usage.ingest import ingest

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
DIFF_30_TO_90 = [
    ["equal", "API inputs are deleted after", "API inputs are deleted after"],
    ["replace", "30", "90"],
    ["equal", "days.", "days."],
]
POLICY_PAGE = """<html><body><main id="policy"><h1>API data usage</h1>
<p>We do not train on API data.</p><p>API inputs are deleted after 30 days.</p></main>
</body></html>"""
PAGES = [
    "/review/",
    "/review/changes/{change}/",
    "/review/providers/month-ai/propose/",
    "/review/sources/",
    "/review/runs/{run}/",
]
POSTS = [
    "/review/changes/{change}/decide/",
    "/review/changes/{change}/edit/",
    "/review/providers/month-ai/propose/",
    "/review/sources/refresh/",
]


@pytest.fixture
def month_ai(small_catalog):
    return Provider.objects.get(slug="month-ai")


def _detected_change(provider, diff=DIFF_30_TO_90, **fields) -> PolicyChange:
    source, _ = PolicySource.objects.get_or_create(
        provider=provider, url=f"https://{provider.slug}.example/api-data"
    )
    fields.setdefault("material", True)
    return PolicyChange.objects.create(
        source=source, provider=provider, diff=diff, summary="−30 +90", **fields
    )


@pytest.fixture
def change(month_ai):
    return _detected_change(month_ai, evidence_missing=["month-ai: retention"])


@pytest.fixture
def second_reviewer(personas):
    user = get_user_model().objects.create_user(
        "second@anyapi.test", "second@anyapi.test", personas.PASSWORD
    )
    user.groups.add(Group.objects.get(name="privacy-team"))
    return user


@pytest.fixture
def reviewer_client(client_for, personas):
    return client_for(personas.reviewer)


def _fields_post(**overrides) -> dict:
    data = {
        "training": "no",
        "retention": "days",
        "retention_days": "90",
        "safety_retention": "flagged_only",
        "publishes_prompts": "no",
        "certifications": "",
        "regions": "us",
        "evidence_retention": "API inputs are deleted after 90 days.",
        # The other values keep their quotes, as the form's inputs hold them.
        "evidence_training": "We do not train on API data.",
        "evidence_safety_retention": "Flagged content may be kept for review.",
        "evidence_publishes_prompts": "Prompts are never published.",
        "evidence_regions": "We serve from the United States only.",
        **{f"evidence_url_{name}": MONTH_PAGE for name in ("training", "retention", "regions")},
        "evidence_url_safety_retention": MONTH_PAGE,
        "evidence_url_publishes_prompts": MONTH_PAGE,
        "review_due": "2099-06-01",
        "comment": "The page now says 90 days.",
    }
    return {**data, **overrides}


def _edited_change(change, editor) -> PolicyChange:
    """The change with field values proposed by `editor`: retention 30 → 90 days."""
    current = review.current_version(change.provider)
    fields = {name: getattr(current, name) for name in PolicyVersion.FIELDS}
    changes.edit_fields(change, editor, {**fields, "retention_days": 90}, "page says 90 days")
    change.refresh_from_db()
    return change


def _page(response):
    return lxml.html.fromstring(response.content.decode())


def _text(response, xpath) -> list[str]:
    return [" ".join(e.text_content().split()) for e in _page(response).xpath(xpath)]


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _followed_messages(response) -> list[str]:
    return _text(response, "//ul[@class='messages']/li")


def _queue_change_ids(response) -> list[int]:
    return [int(pk) for pk in _page(response).xpath("//*[@id='changes']//tr/@data-change")]


def _queries_of(make_request) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        make_request()
    return [query["sql"] for query in captured.captured_queries]


# --- Who may see the pages ----------------------------------------------------------------------


@pytest.fixture
def urls(change, personas):
    run = RefreshRun.objects.create(total=1, started_by=personas.reviewer)
    return lambda template: template.format(change=change.pk, run=run.pk)


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("who", ["owner", "member", "outsider"])
def test_people_outside_the_privacy_team_get_403_on_every_review_page(
    client_for, personas, urls, path, who
):
    client = client_for(getattr(personas, who))
    assert client.get(urls(path)).status_code == 403


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("who", ["owner", "member", "outsider"])
def test_people_outside_the_privacy_team_cannot_post_any_review_action(
    client_for, personas, urls, change, path, who
):
    client = client_for(getattr(personas, who))
    data = {"action": "approve", "comment": "looks fine", **_fields_post()}

    assert client.post(urls(path), data).status_code == 403

    change.refresh_from_db()
    assert change.status == "open" and not ReviewEvent.objects.exists()
    assert not RefreshRun.objects.exclude(total=1).exists()


@pytest.mark.parametrize("path", PAGES + POSTS)
def test_anonymous_visitors_are_sent_to_sign_in(client, urls, path):
    response = client.get(urls(path)) if path in PAGES else client.post(urls(path))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("path", PAGES)
def test_the_privacy_team_sees_every_review_page(reviewer_client, urls, path):
    assert reviewer_client.get(urls(path)).status_code == 200


def test_the_review_queue_link_is_in_the_menu_for_the_privacy_team_only(
    client_for, personas, small_catalog
):
    link = "//nav[@class='mainnav']/a[@href='/review/']"
    assert _text(client_for(personas.reviewer).get("/catalog/"), link) == ["Review queue"]
    assert _text(client_for(personas.owner).get("/catalog/"), link) == []


# --- The queue ----------------------------------------------------------------------------------


@pytest.fixture
def mixed_changes(small_catalog, personas):
    """Five changes: open, changes requested, approved, rejected (month-ai) and one editorial
    open change on safe-ai; returned by name."""
    month, safe = Provider.objects.get(slug="month-ai"), Provider.objects.get(slug="safe-ai")
    made = {name: _detected_change(month) for name in ("open", "asked", "approved", "rejected")}
    made["editorial"] = _detected_change(safe, material=False)
    changes.request_changes(made["asked"], personas.reviewer, "quote the new passage")
    changes.approve(made["approved"], personas.reviewer, "wording only")
    changes.reject(made["rejected"], personas.reviewer, "not a policy change")
    return made


def _ids(made, *names) -> list[int]:
    return sorted((made[name].pk for name in names), reverse=True)


def test_the_queue_lists_open_and_changes_requested_changes_newest_first(
    reviewer_client, mixed_changes
):
    response = reviewer_client.get("/review/")

    assert _queue_change_ids(response) == _ids(mixed_changes, "open", "asked", "editorial")
    assert _text(response, "//*[@data-testid='change-count']") == ["3 changes"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=open", ["open", "editorial"]),
        ("status=changes_requested", ["asked"]),
        ("status=approved", ["approved"]),
        ("status=rejected", ["rejected"]),
        ("status=all", ["open", "asked", "approved", "rejected", "editorial"]),
        ("provider=safe-ai", ["editorial"]),
        ("provider=month-ai&status=all&kind=material", ["open", "asked", "approved", "rejected"]),
        ("kind=editorial", ["editorial"]),
        ("status=nonsense&kind=nonsense", ["open", "asked", "editorial"]),
    ],
)
def test_the_queue_filters_by_provider_status_and_kind_from_the_url(
    reviewer_client, mixed_changes, query, expected
):
    response = reviewer_client.get(f"/review/?{query}")

    assert _queue_change_ids(response) == _ids(mixed_changes, *expected)


def test_an_htmx_filter_request_gets_only_the_list_with_the_filters_applied(
    reviewer_client, mixed_changes
):
    response = reviewer_client.get("/review/?status=approved", headers=HTMX)

    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="changes"')
    assert "<html" not in html and 'id="stale"' not in html
    assert _queue_change_ids(response) == _ids(mixed_changes, "approved")


def test_the_filter_form_keeps_the_chosen_values_selected(reviewer_client, mixed_changes):
    response = reviewer_client.get("/review/?provider=safe-ai&status=all&kind=editorial")

    selected = _page(response).xpath("//form[contains(@class,'filters')]//option[@selected]/@value")
    assert selected == ["safe-ai", "all", "editorial"]


def test_the_queue_lists_stale_policies_with_a_link_to_propose_an_update(reviewer_client, month_ai):
    defaults = PolicyVersion.objects.current().filter(provider=month_ai, endpoint=None)
    defaults.update(review_due=date(2020, 1, 1))

    response = reviewer_client.get("/review/")

    rows = [
        r
        for r in _page(response).xpath("//*[@id='stale']//tbody/tr")
        if "month-ai" in r.text_content() or "Month AI" in r.text_content()
    ]
    assert len(rows) == 1  # free-ai, never given a review date, is listed too
    assert rows[0].xpath(".//a/@href") == [
        "/catalog/providers/month-ai/",
        "/review/providers/month-ai/propose/",
    ]
    assert "2020-01-01" in rows[0].text_content()


def test_the_queue_lists_failing_sources_with_the_last_error_and_the_streak(
    reviewer_client, change
):
    PolicySource.objects.filter(pk=change.source_id).update(failure_streak=4)
    SourceAlert.objects.create(source=change.source, last_error="http_status: 503 from server")

    response = reviewer_client.get("/review/")

    row = _text(response, "//*[@id='failing']//tbody/tr")
    assert len(row) == 1
    assert "http_status: 503 from server" in row[0] and "Month AI" in row[0]
    assert _text(response, "//*[@id='failing']//td[@data-label='In a row']") == ["4"]


def _grow_queue(personas, count):
    month = Provider.objects.get(slug="month-ai")
    for n in range(count):
        made = _detected_change(month, evidence_missing=["month-ai: retention"])
        ReviewEvent.objects.create(change=made, author=personas.reviewer, action="c", comment="x")
        source = PolicySource.objects.create(provider=month, url=f"https://m.example/{n}")
        SourceAlert.objects.create(source=source, last_error="timeout")
    PolicyVersion.objects.current().update(review_due=date(2020, 1, 1))


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
def test_the_queue_costs_the_same_queries_however_many_changes_it_lists(
    reviewer_client, change, personas, django_assert_num_queries, headers
):
    few = _queries_of(lambda: reviewer_client.get("/review/?status=all", headers=headers))

    _grow_queue(personas, 12)
    with django_assert_num_queries(len(few)):
        response = reviewer_client.get("/review/?status=all", headers=headers)

    assert len(_queue_change_ids(response)) == 13


def test_the_sources_page_costs_the_same_queries_however_many_sources_there_are(
    reviewer_client, change, personas, django_assert_num_queries
):
    few = _queries_of(lambda: reviewer_client.get("/review/sources/"))

    _grow_queue(personas, 12)
    with django_assert_num_queries(len(few)):
        response = reviewer_client.get("/review/sources/")

    assert len(_page(response).xpath("//tr[@data-source]")) == 13


# --- A change: diff, proposed values, impact ----------------------------------------------------


def test_the_diff_is_side_by_side_with_deletions_before_and_insertions_after(
    reviewer_client, change
):
    response = reviewer_client.get(f"/review/changes/{change.pk}/")

    html = response.content.decode()
    assert "<del>30</del>" in html and "<ins>90</ins>" in html
    before = _page(response).xpath("//*[contains(@class,'diff-before')]")[0]
    after = _page(response).xpath("//*[contains(@class,'diff-after')]")[0]
    assert [e.text for e in before.xpath(".//del")] == ["30"] and not before.xpath(".//ins")
    assert [e.text for e in after.xpath(".//ins")] == ["90"] and not after.xpath(".//del")
    assert "API inputs are deleted after 90 days." in " ".join(after.text_content().split())


def test_the_diff_helper_puts_deletions_on_the_left_and_insertions_on_the_right():
    diff = [["equal", "a", "a"], ["delete", "b", ""], ["insert", "", "c"], ["replace", "d", "e"]]

    before, after = diff_columns(diff)

    assert before == [("same", "a"), ("del", "b"), ("del", "d")]
    assert after == [("same", "a"), ("ins", "c"), ("ins", "e")]


def test_the_change_shows_its_source_and_the_evidence_that_was_not_found(reviewer_client, change):
    response = reviewer_client.get(f"/review/changes/{change.pk}/")

    assert _text(response, "//*[@data-testid='evidence-missing']//li") == ["month-ai: retention"]
    assert _page(response).xpath("//a[@href='https://month-ai.example/api-data']")


def test_proposed_values_are_shown_against_the_current_ones_with_the_difference_marked(
    reviewer_client, change, personas
):
    _edited_change(change, personas.reviewer)

    response = reviewer_client.get(f"/review/changes/{change.pk}/")

    changed = _page(response).xpath(
        "//table[contains(@class,'field-compare')]//tr[@class='changed']"
    )
    assert [row.get("data-field") for row in changed] == ["retention_days", "source_url"]
    assert _text(response, "//tr[@data-field='retention_days']/td") == ["30", "90"]
    assert _text(response, "//tr[@data-field='source_url']/td") == [
        "not stated",
        "https://month-ai.example/api-data",
    ]
    assert _text(response, "//tr[@data-field='training']/td") == [
        "no",
        "no “We do not train on API data.” source",  # the proposal keeps the quote
    ]


def test_the_impact_report_lists_an_account_that_would_lose_an_endpoint(
    reviewer_client, change, personas
):
    _edited_change(change, personas.reviewer)  # 90 days breaks the accounts' 30-day limit

    response = reviewer_client.get(f"/review/changes/{change.pk}/")

    items = _text(response, "//*[@data-testid='impact-item']")
    assert (
        "account acme loses 1 eligible endpoint: acme/chat@month-ai "
        "— 0 requests in the last 30 days went to it"
    ) in items
    assert "Checked 2 accounts" in _text(response, "//*[@data-testid='impact']/p")[0]


def test_the_impact_report_counts_the_recent_requests_a_change_would_refuse(
    reviewer_client, change, personas
):
    _edited_change(change, personas.reviewer)
    now = timezone.now()
    ingest(
        [
            Event(now, uuid.uuid4(), "acme", None, "acme/chat", "month-ai", 1, 1, 50, 0, None)
            for _ in range(3)
        ]
        + [Event(now, uuid.uuid4(), "acme", None, "acme/chat", "safe-ai", 1, 1, 50, 0, None)]
    )

    response = reviewer_client.get(f"/review/changes/{change.pk}/")

    lost = _text(response, "//*[@data-testid='lost-requests']")
    assert "— 3 requests in the last 30 days went to it" in lost


def _grow_accounts(count):
    """`count` more accounts, each with a key; every other one with its own defaults, a key
    guardrail and an exception, so no two kinds of layers cost the same queries by chance."""
    for n in range(count):
        account = Account.objects.create(slug=f"grown-{n}", name=f"Grown {n}")
        key, _ = ApiKey.issue(name="gateway", account=account)
        if n % 2:
            privacy.defaults_for(account)
            KeyGuardrail.objects.create(key=key, retention_days=0)
            ProviderException.objects.create(
                account=account, key=key, provider="month-ai", until=timezone.now() + timedelta(1)
            )


def test_the_impact_report_costs_the_same_queries_however_many_accounts_and_keys(
    reviewer_client, change, personas, django_assert_num_queries
):
    _edited_change(change, personas.reviewer)
    few = _queries_of(lambda: reviewer_client.get(f"/review/changes/{change.pk}/"))

    _grow_accounts(10)
    with django_assert_num_queries(len(few)):
        response = reviewer_client.get(f"/review/changes/{change.pk}/")

    assert (
        "Checked 12 accounts and 10 API keys" in _text(response, "//*[@data-testid='impact']/p")[0]
    )
    items = _text(response, "//*[@data-testid='impact-item']")
    assert any(item.startswith("account grown-0 loses 1 eligible endpoint") for item in items)


def test_a_change_without_field_values_has_no_impact_report(reviewer_client, change):
    response = reviewer_client.get(f"/review/changes/{change.pk}/")

    assert not _page(response).xpath("//*[@data-testid='impact']")
    assert _text(response, "//button[@name='action']") == [
        "Approve",
        "Request changes",
        "Reject",
    ]


# --- Deciding -----------------------------------------------------------------------------------


def _shown(client, change) -> dict:
    """The hidden fields of the decision form, as the reviewer's page carries them (none when
    the change is decided and the page has no form)."""
    page = _page(client.get(f"/review/changes/{change.pk}/"))
    hidden = page.xpath("//form[@id='decision']//input[@type='hidden']")
    return {field.get("name"): field.get("value") for field in hidden}


def _decide(client, change, action, comment, shown=None):
    data = {**(shown or _shown(client, change)), "action": action, "comment": comment}
    return client.post(f"/review/changes/{change.pk}/decide/", data, follow=True)


def test_the_reviewer_who_edited_the_values_cannot_approve_them_but_a_second_one_can(
    reviewer_client, client_for, change, personas, second_reviewer
):
    response = reviewer_client.post(f"/review/changes/{change.pk}/edit/", _fields_post())
    assert response.status_code == 302
    change.refresh_from_db()
    assert change.version.proposed_by == personas.reviewer

    page = reviewer_client.get(f"/review/changes/{change.pk}/")
    assert _text(page, "//*[@data-testid='four-eyes']/strong") == [
        "You edited these values; another reviewer must approve."
    ]
    assert "Approve" not in _text(page, "//button[@name='action']")

    refused = _decide(reviewer_client, change, "approve", "I checked it myself")
    assert any("Four-eyes" in m for m in _followed_messages(refused))
    change.refresh_from_db()
    assert change.status == "open"

    second = client_for(second_reviewer)
    assert "Approve" in _text(second.get(f"/review/changes/{change.pk}/"), "//button")
    approved = _decide(second, change, "approve", "Matches the new page.")
    assert _followed_messages(approved) == ["Approved: the catalog now uses these values."]
    change.refresh_from_db()
    assert change.status == "approved"


@pytest.mark.parametrize("action", ["approve", "reject", "request_changes"])
@pytest.mark.parametrize("comment", ["", "   "])
def test_a_decision_without_a_comment_is_refused_with_a_message_and_changes_nothing(
    reviewer_client, change, action, comment
):
    catalog_before = CatalogState.current_version()

    response = _decide(reviewer_client, change, action, comment)

    assert response.status_code == 200
    assert _followed_messages(response) == ["A comment is required."]
    change.refresh_from_db()
    assert change.status == "open" and not ReviewEvent.objects.exists()
    assert CatalogState.current_version() == catalog_before


def test_approving_a_change_with_values_raises_the_catalog_version_and_is_audited(
    client_for, change, personas, second_reviewer
):
    _edited_change(change, personas.reviewer)
    catalog_before = CatalogState.current_version()

    _decide(client_for(second_reviewer), change, "approve", "Matches the new page.")

    assert CatalogState.current_version() == catalog_before + 1
    current = review.current_version(change.provider)
    assert current.pk == change.version_id and current.retention_days == 90
    assert current.decided_by == second_reviewer
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"change.edited", "policy.approved", "change.approved"} <= actions
    approval = AuditEvent.objects.get(action="policy.approved")
    assert approval.actor == second_reviewer
    assert approval.before["retention_days"] == 30 and approval.after["retention_days"] == 90


def test_rejecting_a_change_leaves_the_catalog_untouched(client_for, change, personas):
    _edited_change(change, personas.reviewer)
    catalog_before = CatalogState.current_version()
    current_before = review.current_version(change.provider)

    response = _decide(client_for(personas.reviewer), change, "reject", "Misread the page.")

    assert _followed_messages(response) == ["Rejected: the catalog is unchanged."]
    change.refresh_from_db()
    assert change.status == "rejected" and change.version.status == "rejected"
    assert CatalogState.current_version() == catalog_before
    assert review.current_version(change.provider) == current_before
    assert AuditEvent.objects.filter(action="change.rejected").count() == 1


def test_requesting_changes_keeps_the_change_in_the_queue_with_the_comment_in_its_history(
    reviewer_client, change, personas
):
    _decide(reviewer_client, change, "request_changes", "Quote the new passage, please.")

    change.refresh_from_db()
    assert change.status == "changes_requested"
    assert change.pk in _queue_change_ids(reviewer_client.get("/review/"))
    history = _text(reviewer_client.get(f"/review/changes/{change.pk}/"), "//ol/li")
    assert history == [
        "requested changes reviewer@anyapi.test · "
        + timezone.localtime(ReviewEvent.objects.get().created).strftime("%Y-%m-%d %H:%M")
        + " Quote the new passage, please."
    ]


def test_deciding_a_decided_change_shows_the_reason_instead_of_failing(
    reviewer_client, change, personas
):
    changes.reject(change, personas.reviewer, "not a policy change")

    response = _decide(reviewer_client, change, "approve", "on second thought")

    assert _followed_messages(response) == ["This change is already rejected."]
    assert not _page(response).xpath("//form[contains(@class,'decision-form')]")


def test_an_htmx_decision_answers_with_a_client_redirect(reviewer_client, change):
    response = reviewer_client.post(
        f"/review/changes/{change.pk}/decide/",
        {"action": "request_changes", "comment": "more evidence"},
        headers=HTMX,
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/review/changes/{change.pk}/"


# --- Editing values -----------------------------------------------------------------------------


def test_edited_values_become_a_proposed_version_with_evidence_from_the_source(
    reviewer_client, change, personas
):
    reviewer_client.post(f"/review/changes/{change.pk}/edit/", _fields_post())

    change.refresh_from_db()
    version = change.version
    assert version.status == "proposed" and version.retention_days == 90
    assert version.regions == ["us"] and version.certifications is None
    assert version.review_due == date(2099, 6, 1)
    assert version.evidence["retention"] == {
        "quote": "API inputs are deleted after 90 days.",
        "source_url": "https://month-ai.example/api-data",
        "captured_at": date.today().isoformat(),
        "basis": "public",
        "reference": "",
        "condition": "",
        "corroboration": [],
    }
    assert ReviewEvent.objects.get().action == "edited"


def test_invalid_values_are_shown_next_to_their_fields_and_nothing_is_proposed(
    reviewer_client, change
):
    response = reviewer_client.post(
        f"/review/changes/{change.pk}/edit/", _fields_post(retention_days="", comment="")
    )

    assert response.status_code == 200
    errors = _text(response, "//p[@class='field-error']")
    assert "Say how many days, or choose another retention." in errors
    assert "A comment is required." in errors
    assert _page(response).xpath("//details[contains(@class,'edit-fields')][@open]")
    change.refresh_from_db()
    assert change.version is None


# --- Manual changes -----------------------------------------------------------------------------


def test_the_manual_change_form_starts_from_the_current_values(reviewer_client, month_ai):
    response = reviewer_client.get("/review/providers/month-ai/propose/")

    form = _page(response).forms[-1]
    assert form.fields["retention"] == "days" and form.fields["retention_days"] == "30"
    assert form.fields["regions"] == "us"


def test_a_manual_change_is_proposed_and_opens_its_change_page(reviewer_client, month_ai, personas):
    catalog_before = CatalogState.current_version()

    response = reviewer_client.post(
        "/review/providers/month-ai/propose/",
        _fields_post(retention="zero", retention_days="7", comment="They announced ZDR."),
    )

    change = PolicyChange.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/review/changes/{change.pk}/"
    assert change.status == "open" and change.source is None
    assert change.version.retention == "zero" and change.version.retention_days is None
    assert change.version.proposed_by == personas.reviewer
    assert CatalogState.current_version() == catalog_before
    page = reviewer_client.get(response["Location"])
    assert "Approve" not in _text(page, "//button[@name='action']")


def test_a_manual_change_with_invalid_values_shows_the_form_again(reviewer_client, month_ai):
    response = reviewer_client.post(
        "/review/providers/month-ai/propose/", _fields_post(training="sometimes")
    )

    assert response.status_code == 200
    assert _page(response).xpath("//fieldset[contains(@class,'has-error')]/legend/text()") == [
        "Training on API data"
    ]
    assert not PolicyChange.objects.exists()


def test_proposing_for_an_unknown_provider_is_a_404(reviewer_client, small_catalog):
    assert reviewer_client.get("/review/providers/nobody/propose/").status_code == 404


# --- Sources and "refresh all now" --------------------------------------------------------------


@pytest.fixture
def server(settings):
    with LocalServer() as running:
        settings.FETCH_ALLOW_PRIVATE_HOSTS = ["127.0.0.1"]
        settings.FETCH_ALLOWED_PORTS = [running.port]
        settings.REFRESH_BACKOFF_SECONDS = 0
        settings.REFRESH_RETRIES = 0
        yield running


def test_the_sources_page_shows_each_sources_health(reviewer_client, server, month_ai):
    server.page("/policy", POLICY_PAGE)
    source = PolicySource.objects.create(
        provider=month_ai, url=server.url("/policy"), select="#policy"
    )
    refresh_source(source.pk)
    server.routes["/policy"] = (500, {"Content-Type": "text/html"}, b"down")
    refresh_source(source.pk)

    response = reviewer_client.get("/review/sources/")

    row = _page(response).xpath(f"//tr[@data-source='{source.pk}']")[0]

    def cell(label):
        return " ".join(row.xpath(f"td[@data-label='{label}']")[0].text_content().split())

    assert source.url in cell("Source") and "Month AI" in cell("Source")
    assert cell("Last error").startswith("http_status")
    assert cell("In a row") == "1" and cell("Enabled") == "yes"
    assert cell("Latest fetch").startswith("failed HTTP 500")
    assert cell("Last success") != "never"


@pytest.mark.django_db(transaction=True)  # on PostgreSQL the refresh threads use own connections
def test_refresh_all_now_creates_a_run_and_its_progress_stops_polling_once_finished(
    client_for, personas, server, small_catalog, django_capture_on_commit_callbacks
):
    server.page("/policy", POLICY_PAGE)
    server.page("/other", POLICY_PAGE.replace("30 days", "14 days"))
    month = Provider.objects.get(slug="month-ai")
    for path in ("/policy", "/other"):
        PolicySource.objects.create(provider=month, url=server.url(path), select="#policy")
    PolicySource.objects.create(provider=month, url=server.url("/off"), enabled=False)
    client = client_for(personas.reviewer)

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post("/review/sources/refresh/", headers=HTMX)

    run = RefreshRun.objects.get()
    _wait_for_background_run(run)
    run.refresh_from_db()
    assert started.status_code == 200
    assert run.total == 2 and run.started_by == personas.reviewer
    assert run.done == 2 and run.failed == 0 and run.finished_at is not None
    assert server.routes.hits == {"/policy": 1, "/other": 1}

    progress = client.get(f"/review/runs/{run.pk}/", headers=HTMX)

    assert progress.status_code == 286
    bar = _page(progress).xpath("//progress")[0]
    assert (bar.get("max"), bar.get("value")) == ("2", "2")
    assert _page(progress).xpath("//*[@id='refresh-progress']/@hx-trigger") == []
    assert "Refresh finished" in progress.content.decode()


def test_a_running_refresh_polls_every_second_with_its_progress(
    reviewer_client, personas, small_catalog
):
    run = RefreshRun.objects.create(total=4, done=1, changed=1, started_by=personas.reviewer)

    response = reviewer_client.get(f"/review/runs/{run.pk}/", headers=HTMX)

    assert response.status_code == 200
    box = _page(response).xpath("//*[@id='refresh-progress']")[0]
    assert box.get("hx-trigger") == "every 1s"
    assert box.get("hx-get") == f"/review/runs/{run.pk}/"
    assert box.xpath(".//progress/@value") == ["1"] and box.xpath(".//progress/@max") == ["4"]
    assert _text(response, "//*[@data-testid='run-changed']") == ["1"]
    page = reviewer_client.get("/review/sources/")
    assert _page(page).xpath("//*[@id='refresh-progress']/@hx-trigger") == ["every 1s"]


def _wait_for_background_run(run) -> None:
    for thread in threading.enumerate():
        if thread.name == f"refresh-run-{run.pk}":
            thread.join(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_on_the_embedded_default_refresh_all_now_answers_at_once_and_runs_in_the_background(
    client_for, personas, server, small_catalog, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # The page is served only once the test lets it (or after 30 s): an answer that comes while
    # it is still held cannot have waited for the fetch, however slow the machine (a time limit
    # was flaky under load).
    release, served = threading.Event(), threading.Event()

    def held(handler):
        release.wait(timeout=30)
        served.set()
        return 200, {"Content-Type": "text/html; charset=utf-8"}, POLICY_PAGE.encode()

    server.routes["/held"] = held
    PolicySource.objects.create(
        provider=Provider.objects.get(slug="month-ai"), url=server.url("/held"), select="#policy"
    )
    client = client_for(personas.reviewer)

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post("/review/sources/refresh/", headers=HTMX)
    fetch_still_held = not served.is_set()
    release.set()

    run = RefreshRun.objects.get()
    assert started.status_code == 200 and fetch_still_held
    assert _page(started).xpath("//*[@id='refresh-progress']/@hx-trigger") == ["every 1s"]
    _wait_for_background_run(run)
    run.refresh_from_db()
    assert run.done == 1 and run.finished_at is not None


def test_refresh_all_now_without_htmx_goes_to_the_progress_page(
    reviewer_client, month_ai, monkeypatch, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # a worker takes the run
    queued = []
    monkeypatch.setattr(
        "catalog.tasks.refresh_run.delay_on_commit", lambda *args: queued.append(args)
    )
    source = PolicySource.objects.create(provider=month_ai, url="https://m.example/p")

    response = reviewer_client.post("/review/sources/refresh/")

    run = RefreshRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/review/runs/{run.pk}/"
    assert queued == [(run.pk, [source.pk])]
    assert reviewer_client.get(response["Location"]).status_code == 200


def test_refresh_all_now_with_no_enabled_source_says_so(reviewer_client, small_catalog):
    response = reviewer_client.post("/review/sources/refresh/", follow=True)

    assert _followed_messages(response) == ["No enabled source to refresh."]
    assert not RefreshRun.objects.exists()


def test_a_run_started_over_an_hour_ago_and_never_finished_is_not_shown_as_running(
    reviewer_client, personas, small_catalog
):
    run = RefreshRun.objects.create(total=3, started_by=personas.reviewer)
    RefreshRun.objects.filter(pk=run.pk).update(created=timezone.now() - timedelta(hours=2))

    response = reviewer_client.get("/review/sources/")

    assert not _page(response).xpath("//*[@id='refresh-progress']/@hx-get")


# --- a decision is bound to what the reviewer saw ---------------------------------------------


def test_approving_a_change_edited_after_it_was_opened_is_refused_and_shows_the_new_values(
    reviewer_client, change, second_reviewer
):
    reviewer_b = Client()
    reviewer_b.force_login(second_reviewer)
    opened = _shown(reviewer_b, change)  # B reads the change showing 30 days' retention
    edited = reviewer_client.post(  # A edits it to zero retention meanwhile
        f"/review/changes/{change.pk}/edit/",
        _fields_post(retention="zero", retention_days="", safety_retention="none"),
    )
    assert edited.status_code == 302

    refused = _decide(reviewer_b, change, "approve", "Looks right.", shown=opened)

    assert any("edited after you opened it" in m for m in _followed_messages(refused))
    change.refresh_from_db()
    assert change.status == "open" and change.version.status == "proposed"
    assert not ReviewEvent.objects.filter(action="approved").exists()
    shown_now = _page(refused).xpath("//tr[@data-field='retention']/td[@data-label='Proposed']")
    assert "zero" in shown_now[0].text_content()

    approved = _decide(reviewer_b, change, "approve", "Zero retention, as the page says.")
    assert _followed_messages(approved) == ["Approved: the catalog now uses these values."]
    assert review.current_version(change.provider).retention == "zero"


def test_a_decision_form_with_a_forged_hash_is_refused(reviewer_client, change):
    shown = {**_shown(reviewer_client, change), "shown": "0" * 64}

    refused = _decide(reviewer_client, change, "reject", "Noise.", shown=shown)

    assert any("edited after you opened it" in m for m in _followed_messages(refused))
    change.refresh_from_db()
    assert change.status == "open"


def test_a_refresh_that_updates_the_change_also_voids_the_open_page(reviewer_client, change):
    opened = _shown(reviewer_client, change)
    PolicyChange.objects.filter(pk=change.pk).update(revision=change.revision + 1)

    refused = _decide(reviewer_client, change, "approve", "ok", shown=opened)

    assert any("edited after you opened it" in m for m in _followed_messages(refused))
