import json

import pytest
from django.core.management import call_command

from catalog.models import (
    Fetch,
    PolicyChange,
    PolicySource,
    PolicyVersion,
    Provider,
    SourceAlert,
    SourceText,
)
from catalog.refresh.pipeline import CHANGED, FAILED, FETCHED, UNCHANGED, refresh_source
from catalog.refresh.sources import SourceCheckError, register_source
from catalog.review import changes
from tests.catalog.local_server import LocalServer

pytestmark = pytest.mark.django_db

POLICY_PAGE = """<html><body><nav>Home · Updated March 3, 2026</nav>
<main id="policy"><h1>API data usage</h1>
<p>We do not train on API data.</p>
<p>API inputs are deleted after 30 days.</p>
<p>See <a href="/terms?utm_source=x">our terms</a>.</p></main>
<footer>© Acme</footer></body></html>"""


@pytest.fixture
def server(settings):
    with LocalServer() as running:
        settings.FETCH_ALLOW_PRIVATE_HOSTS = ["127.0.0.1"]
        settings.FETCH_ALLOWED_PORTS = [running.port]
        settings.REFRESH_BACKOFF_SECONDS = 0
        yield running


@pytest.fixture
def source(server, small_catalog):
    server.page("/policy", POLICY_PAGE)
    return PolicySource.objects.create(
        provider=Provider.objects.get(slug="month-ai"),
        url=server.url("/policy"),
        select="#policy",
    )


def _catalog_rows():
    return list(PolicyVersion.objects.values_list("pk", "status", "superseded_at"))


def test_the_first_successful_fetch_sets_the_baseline(source):
    assert refresh_source(source.pk) == FETCHED
    source.refresh_from_db()
    assert "deleted after 30 days" in source.baseline.text
    assert "utm_source" not in source.baseline.text
    assert not PolicyChange.objects.exists()


def test_the_same_content_again_creates_nothing(source):
    refresh_source(source.pk)
    assert refresh_source(source.pk) == UNCHANGED
    assert not PolicyChange.objects.exists()


def test_a_changed_page_becomes_one_material_proposal(source, server):
    refresh_source(source.pk)
    catalog_before = _catalog_rows()
    server.page("/policy", POLICY_PAGE.replace("30 days", "90 days"))
    assert refresh_source(source.pk) == CHANGED
    assert refresh_source(source.pk) == UNCHANGED  # the same change is not raised twice
    change = PolicyChange.objects.get()
    assert change.material and change.status == "open"
    assert [
        "replace",
        "API inputs are deleted after 30 days.",
        "API inputs are deleted after 90 days.",
    ] in change.diff
    assert _catalog_rows() == catalog_before  # nothing is auto-applied


def test_a_change_in_volatile_navigation_is_no_change(source, server):
    refresh_source(source.pk)
    server.page("/policy", POLICY_PAGE.replace("March 3, 2026", "June 9, 2026"))
    assert refresh_source(source.pk) == UNCHANGED


def test_an_editorial_change_is_classed_editorial(source, server):
    refresh_source(source.pk)
    server.page("/policy", POLICY_PAGE.replace("API data usage", "How we handle your API use"))
    refresh_source(source.pk)
    assert PolicyChange.objects.get().material is False


def test_evidence_that_disappears_is_flagged(source, server):
    version = PolicyVersion.objects.current().get(provider__slug="month-ai", endpoint=None)
    PolicyVersion.objects.filter(pk=version.pk).update(
        evidence={
            "retention": {"passage": "API inputs are deleted after 30 days", "url": source.url}
        }
    )
    refresh_source(source.pk)
    server.page("/policy", POLICY_PAGE.replace("deleted after 30 days", "kept for a while"))
    refresh_source(source.pk)
    assert PolicyChange.objects.get().evidence_missing == ["month-ai: retention (missing)"]


def test_a_304_counts_as_unchanged(source, server):
    server.page("/policy", POLICY_PAGE, ETag='"v1"')
    refresh_source(source.pk)

    def conditional(handler):
        if handler.headers.get("If-None-Match") == '"v1"':
            return 304, {}, b""
        return 200, {"Content-Type": "text/html"}, POLICY_PAGE.encode()

    server.routes["/policy"] = conditional
    assert refresh_source(source.pk) == UNCHANGED
    assert Fetch.objects.first().outcome == Fetch.Outcome.NOT_MODIFIED


@pytest.mark.parametrize(
    ("route", "kind"),
    [
        ((500, {"Content-Type": "text/html"}, b"oops"), "http_status"),
        ((503, {"Content-Type": "text/html"}, b"busy"), "http_status"),
        ((200, {"Content-Type": "image/png"}, b"\x89PNG"), "content_type"),
        ((302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""), "blocked_address"),
        ((302, {"Location": "http://10.0.0.1/"}, b""), "blocked_address"),
    ],
)
def test_failures_leave_the_catalog_untouched(source, server, route, kind):
    refresh_source(source.pk)
    catalog_before = _catalog_rows()
    server.routes["/policy"] = route
    assert refresh_source(source.pk) == FAILED
    source.refresh_from_db()
    assert source.last_error.startswith(kind) and source.failure_streak == 1
    assert _catalog_rows() == catalog_before and not PolicyChange.objects.exists()


def test_a_failing_source_opens_one_alert_that_closes_on_recovery(source, server, settings):
    settings.SOURCE_FAILURES_BEFORE_ALERT = 2
    server.routes["/policy"] = (500, {"Content-Type": "text/html"}, b"down")
    for _ in range(4):
        refresh_source(source.pk)
    assert SourceAlert.objects.filter(closed_at__isnull=True).count() == 1
    server.page("/policy", POLICY_PAGE)
    refresh_source(source.pk)
    assert not SourceAlert.objects.filter(closed_at__isnull=True).exists()


def test_a_json_source_proposes_its_field_values(server, small_catalog):
    document = {
        "provider": "month-ai",
        "policy": {"training": "no", "retention": "days", "retention_days": 30},
        "evidence": {"retention": "30 days"},
    }
    server.routes["/policy.json"] = (
        200,
        {"Content-Type": "application/json"},
        json.dumps(document).encode(),
    )
    source = PolicySource.objects.create(
        provider=Provider.objects.get(slug="month-ai"), url=server.url("/policy.json"), kind="json"
    )
    refresh_source(source.pk)
    document["policy"]["retention_days"] = 7
    server.routes["/policy.json"] = (
        200,
        {"Content-Type": "application/json"},
        json.dumps(document).encode(),
    )
    assert refresh_source(source.pk) == CHANGED
    change = PolicyChange.objects.get()
    assert change.version.retention_days == 7 and change.version.status == "proposed"


def test_malformed_json_fails_without_a_change(server, small_catalog):
    server.routes["/policy.json"] = (200, {"Content-Type": "application/json"}, b"{nope")
    source = PolicySource.objects.create(
        provider=Provider.objects.get(slug="month-ai"), url=server.url("/policy.json"), kind="json"
    )
    assert refresh_source(source.pk) == FAILED
    assert not PolicyChange.objects.exists()


@pytest.mark.django_db(transaction=True)  # the refresh threads use their own connections
def test_refresh_policies_prints_counts_as_its_last_line(source, server, capsys):
    call_command("refresh_policies")
    server.page("/policy", POLICY_PAGE.replace("30 days", "60 days"))
    call_command("refresh_policies", "--provider", "month-ai")
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last) == {"fetched": 1, "unchanged": 0, "changed": 1, "failed": 0}


def test_a_new_source_must_match_its_selector(server, small_catalog):
    server.page("/policy", POLICY_PAGE)
    with pytest.raises(SourceCheckError, match="select"):
        register_source(
            Provider.objects.get(slug="month-ai"), server.url("/policy"), select="#missing"
        )
    assert not PolicySource.objects.exists()


def test_a_new_source_must_extract_the_same_text_twice(server, small_catalog):
    counter = iter(range(100))
    server.routes["/clock"] = lambda handler: (
        200,
        {"Content-Type": "text/html"},
        f"<main id='p'>Request number {next(counter)}</main>".encode(),
    )
    with pytest.raises(SourceCheckError, match="different text"):
        register_source(Provider.objects.get(slug="month-ai"), server.url("/clock"), select="#p")


def test_a_reviewed_change_moves_the_baseline(source, server, personas):
    refresh_source(source.pk)
    server.page("/policy", POLICY_PAGE.replace("30 days", "90 days"))
    refresh_source(source.pk)
    changes.reject(PolicyChange.objects.get(), personas.reviewer, "wording only, no new terms")
    assert refresh_source(source.pk) == UNCHANGED
    assert PolicyChange.objects.count() == 1


def test_whoever_edited_a_change_cannot_approve_it_even_after_someone_else_edits(
    source, server, personas, django_user_model
):
    from django.contrib.auth.models import Group

    second = django_user_model.objects.create_user("second@anyapi.test", "second@anyapi.test")
    second.groups.add(Group.objects.get(name="privacy-team"))
    refresh_source(source.pk)
    server.page("/policy", POLICY_PAGE.replace("30 days", "90 days"))
    refresh_source(source.pk)
    change = PolicyChange.objects.get()
    changes.edit_fields(change, personas.reviewer, {"retention_days": 90}, "page says 90 days")
    changes.edit_fields(change, second, {"retention_days": 90, "training": "no"}, "training too")
    with pytest.raises(changes.ChangeDecisionError, match="Four-eyes"):
        changes.approve(change, personas.reviewer, "approving my colleague's edit")
    with pytest.raises(changes.ChangeDecisionError, match="Four-eyes"):
        changes.approve(change, second, "approving my own edit")


def test_a_policy_never_given_a_review_date_is_listed_as_stale(small_catalog):
    stale = {v.provider.slug for v in changes.stale_policies()}
    assert "free-ai" in stale and "safe-ai" not in stale


def test_new_selectors_re_extract_stored_snapshots_without_a_change(source, server):
    refresh_source(source.pk)
    call_command("updatepolicysource", str(source.pk), "--select", "main", "--remove", "a")
    source.refresh_from_db()
    assert "our terms" not in source.baseline.text and "30 days" in source.baseline.text
    assert refresh_source(source.pk) == UNCHANGED  # same page, same rules: nothing new
    assert not PolicyChange.objects.exists()
    assert server.routes.hits["/policy"] == 2  # the update itself fetched nothing


def test_old_snapshots_are_purged_unless_a_kept_text_needs_them(source, server):
    from datetime import timedelta

    from django.utils import timezone

    from catalog.models import Snapshot
    from catalog.refresh.sources import purge_old_snapshots

    refresh_source(source.pk)
    orphan = Snapshot.objects.create(content_hash="0" * 64, body=b"", size=0)
    Snapshot.objects.update(created=timezone.now() - timedelta(days=400))
    assert purge_old_snapshots() == 1
    assert not Snapshot.objects.filter(pk=orphan.pk).exists()
    assert Snapshot.objects.count() == 1


# --- one pending change per source ------------------------------------------------------------


def test_a_newer_detection_updates_the_open_change_instead_of_queueing_another(source, server):
    refresh_source(source.pk)
    baseline = PolicySource.objects.get(pk=source.pk).baseline
    server.page("/policy", POLICY_PAGE.replace("30 days", "60 days"))
    refresh_source(source.pk)
    server.page("/policy", POLICY_PAGE.replace("30 days", "90 days"))
    assert refresh_source(source.pk) == CHANGED

    change = PolicyChange.objects.get()
    assert change.before == baseline  # still diffed from what the reviewer approved
    assert "90 days" in change.after.text and change.revision == 2
    assert change.diff[1][:2] == ["replace", "API inputs are deleted after 30 days."]
    assert "60 days" in SourceText.objects.get(pk=change.history[0]["text"]).text


def test_a_page_back_to_the_approved_text_withdraws_the_open_change(source, server):
    refresh_source(source.pk)
    server.page("/policy", POLICY_PAGE.replace("30 days", "60 days"))
    refresh_source(source.pk)
    server.page("/policy", POLICY_PAGE)
    refresh_source(source.pk)

    assert PolicyChange.objects.get().status == PolicyChange.Status.WITHDRAWN
    assert not PolicyChange.objects.open().exists()


# --- evidence -----------------------------------------------------------------------------------


def _quote(source, passage):
    version = PolicyVersion.objects.current().get(provider__slug="month-ai", endpoint=None)
    evidence = {"training": {"passage": passage, "url": source.url}}
    PolicyVersion.objects.filter(pk=version.pk).update(evidence=evidence)


def test_a_qualifier_added_around_a_quoted_passage_is_flagged(source, server):
    _quote(source, "We do not train on API data")
    refresh_source(source.pk)
    server.page("/policy", POLICY_PAGE.replace("We do not", "By default, we do not"))
    refresh_source(source.pk)

    change = PolicyChange.objects.get()
    assert change.evidence_missing == ["month-ai: training (changed)"] and change.material


def test_a_missing_passage_is_flagged_once_on_the_change_where_it_went_missing(
    source, server, personas
):
    _quote(source, "We do not train on API data")
    refresh_source(source.pk)
    server.page("/policy", POLICY_PAGE.replace("We do not train", "We may train"))
    refresh_source(source.pk)
    first = PolicyChange.objects.get()
    changes.approve(first, personas.reviewer, "seen")
    server.page(
        "/policy",
        POLICY_PAGE.replace("We do not train", "We may train").replace(
            "API data usage", "How we handle API data"
        ),
    )
    refresh_source(source.pk)

    later = PolicyChange.objects.exclude(pk=first.pk).get()
    assert first.evidence_missing == ["month-ai: training (missing)"]
    assert later.evidence_missing == [] and later.material is False


# --- broken renders and failed runs -------------------------------------------------------------

APP_ERROR = (
    "<html><body><h2>Application error: a client-side exception has occurred while loading "
    "www.example.com (see the browser console for more information).</h2></body></html>"
)


def test_a_broken_render_is_a_failed_fetch_and_its_recovery_no_change(source, server):
    refresh_source(source.pk)
    source.select = ""
    source.save()
    refresh_source(source.pk)  # the baseline without the selector
    server.page("/policy", APP_ERROR)
    assert refresh_source(source.pk) == FAILED
    assert PolicySource.objects.get(pk=source.pk).last_error_kind == "render"
    server.page("/policy", POLICY_PAGE)
    assert refresh_source(source.pk) == UNCHANGED
    assert not PolicyChange.objects.exists()


def test_retries_inside_a_run_count_as_one_failure(source, server, settings):
    settings.REFRESH_RETRIES = 2
    server.routes["/policy"] = (503, {"Content-Type": "text/html"}, b"busy")
    assert refresh_source(source.pk) == FAILED

    assert server.routes.hits["/policy"] == 3
    assert PolicySource.objects.get(pk=source.pk).failure_streak == 1
    assert Fetch.objects.filter(outcome=Fetch.Outcome.FAILED).count() == 1


def test_a_permanent_failure_is_not_retried(source, server, settings):
    settings.REFRESH_RETRIES = 2
    server.routes["/policy"] = (200, {"Content-Type": "image/png"}, b"\x89PNG")
    refresh_source(source.pk)

    assert server.routes.hits["/policy"] == 1
    assert PolicySource.objects.get(pk=source.pk).last_error_kind == "content_type"


def test_the_alert_opens_only_after_the_configured_number_of_failed_runs(source, server, settings):
    settings.SOURCE_FAILURES_BEFORE_ALERT = 3
    settings.REFRESH_RETRIES = 2
    server.routes["/policy"] = (500, {"Content-Type": "text/html"}, b"down")
    for run in range(1, 4):
        refresh_source(source.pk)
        assert SourceAlert.objects.filter(closed_at__isnull=True).exists() == (run == 3)


@pytest.mark.django_db(transaction=True)  # the refresh threads use their own connections
def test_a_source_that_crashes_the_pipeline_is_recorded_and_the_run_goes_on(
    source, server, small_catalog, monkeypatch
):
    from catalog.refresh import jobs

    server.page("/other", POLICY_PAGE)
    other = PolicySource.objects.create(
        provider=Provider.objects.get(slug="safe-ai"), url=server.url("/other"), select="#policy"
    )
    real = jobs.refresh_source

    def hostile(source_id):
        if source_id == source.pk:
            raise RecursionError("maximum recursion depth exceeded")
        return real(source_id)

    monkeypatch.setattr(jobs, "refresh_source", hostile)
    counts = jobs.refresh_many([source, other])

    assert counts == {"fetched": 1, "unchanged": 0, "changed": 0, "failed": 1}
    crashed = PolicySource.objects.get(pk=source.pk)
    assert crashed.last_error_kind == "internal" and "RecursionError" in crashed.last_error
    assert PolicySource.objects.get(pk=other.pk).baseline is not None


@pytest.mark.django_db(transaction=True)  # the refresh threads use their own connections
def test_a_deeply_nested_json_source_fails_its_run_and_the_others_go_on(
    source, server, small_catalog
):
    from catalog.refresh.jobs import refresh_many

    server.routes["/deep.json"] = (200, {"Content-Type": "application/json"}, b"[" * 100_000)
    deep = PolicySource.objects.create(
        provider=Provider.objects.get(slug="safe-ai"), url=server.url("/deep.json"), kind="json"
    )

    counts = refresh_many([deep, source])

    assert counts["failed"] == 1 and counts["fetched"] == 1
    assert PolicySource.objects.get(pk=deep.pk).last_error_kind == "extraction"


def test_a_baseline_kept_from_older_extraction_rules_is_re_extracted_not_reported(source, server):
    refresh_source(source.pk)
    baseline = PolicySource.objects.get(pk=source.pk).baseline
    SourceText.objects.filter(pk=baseline.pk).update(
        text=baseline.text + "\nSee our terms <https://acme.example/terms?utm_source=x>.",
        extractor=1,
    )

    assert refresh_source(source.pk) == UNCHANGED
    renewed = PolicySource.objects.get(pk=source.pk).baseline
    assert renewed.pk != baseline.pk and "<https://" not in renewed.text
    assert not PolicyChange.objects.exists()
