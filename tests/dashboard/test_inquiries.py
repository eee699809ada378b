"""Privacy inquiries: who may see and do what, text-only rendering, the thread and its internal
notes, notifications, the audit trail, retention, the account's export and deletion, and query
counts of the lists."""

import csv
import io
import logging
import zipfile
from datetime import timedelta

import lxml.html
import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Endpoint, Provider
from dashboard import inquiries
from dashboard.models import (
    AuditEvent,
    EmailMute,
    Inquiry,
    InquiryMessage,
    Membership,
    Notification,
)

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
Status = Inquiry.Status
QUESTION = "Does Month AI keep our data past 30 days when a request is flagged?"
HOSTILE_SUBJECT = '<script>alert("subject")</script>'
HOSTILE_BODY = (
    '<a href="javascript:alert(1)">click</a> <img src=x onerror="alert(2)">'
    "<script>alert(3)</script> javascript:alert(4)"
)


def _membership(user):
    return Membership.objects.select_related("account", "user").get(user=user)


def _ask(user, subject="Retention question", body=QUESTION, **related):
    return inquiries.open_inquiry(_membership(user), subject, body, **related)


def _html(response):
    return lxml.html.fromstring(response.content.decode())


@pytest.fixture
def asked(personas):
    """One inquiry of each Acme person, and one of Globex."""
    return {
        "owner": _ask(personas.owner, "Owner's question"),
        "admin": _ask(personas.admin, "Admin's question"),
        "member": _ask(personas.member, "Member's question"),
        "outsider": _ask(personas.outsider, "Globex's question"),
    }


# --- Roles and tenant isolation -----------------------------------------------------------------

CUSTOMER_GETS = ["/a/{slug}/inquiries/", "/a/{slug}/inquiries/new/", "/a/{slug}/inquiries/{pk}/"]
CUSTOMER_POSTS = ["/a/{slug}/inquiries/{pk}/reply/", "/a/{slug}/inquiries/{pk}/close/"]
TEAM_GETS = ["/review/inquiries/", "/review/inquiries/{pk}/"]
TEAM_POSTS = [
    "/review/inquiries/{pk}/reply/",
    "/review/inquiries/{pk}/assign/",
    "/review/inquiries/{pk}/status/",
    "/review/inquiries/{pk}/propose/",
]


def _request(client, path, **parts):
    url = path.format(**parts)
    if path in CUSTOMER_POSTS or path in TEAM_POSTS:
        return client.post(url, {"message": "hello", "status": "closed"})
    return client.get(url)


@pytest.mark.parametrize("path", CUSTOMER_GETS + CUSTOMER_POSTS + TEAM_GETS + TEAM_POSTS)
def test_anonymous_visitors_are_sent_to_sign_in(client, personas, asked, path):
    response = _request(client, path, slug="acme", pk=asked["member"].pk)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert asked["member"].messages.count() == 1


@pytest.mark.parametrize("path", CUSTOMER_GETS + CUSTOMER_POSTS)
def test_another_accounts_inquiry_pages_are_404(client_for, personas, asked, path):
    client = client_for(personas.outsider)
    assert _request(client, path, slug="acme", pk=asked["member"].pk).status_code == 404
    assert asked["member"].messages.count() == 1
    assert Inquiry.objects.get(pk=asked["member"].pk).status == Status.OPEN


@pytest.mark.parametrize("path", ["/a/globex/inquiries/{pk}/"] + CUSTOMER_POSTS)
def test_an_owner_cannot_reach_another_accounts_inquiry_through_their_own_account(
    client_for, personas, asked, path
):
    client = client_for(personas.outsider)  # owner of Globex
    assert _request(client, path, slug="globex", pk=asked["owner"].pk).status_code == 404
    assert Inquiry.objects.get(pk=asked["owner"].pk).status == Status.OPEN


@pytest.mark.parametrize("who", ["admin", "member"])
@pytest.mark.parametrize("path", ["/a/{slug}/inquiries/{pk}/"] + CUSTOMER_POSTS)
def test_members_and_admins_cannot_reach_someone_elses_inquiry(
    client_for, personas, asked, who, path
):
    client = client_for(getattr(personas, who))
    assert _request(client, path, slug="acme", pk=asked["owner"].pk).status_code == 404
    assert Inquiry.objects.get(pk=asked["owner"].pk).status == Status.OPEN


def test_an_owner_sees_every_inquiry_of_the_account_and_no_other(client_for, personas, asked):
    page = client_for(personas.owner).get("/a/acme/inquiries/").content.decode()
    assert "Owner&#x27;s question" in page and "Member&#x27;s question" in page
    assert "Admin&#x27;s question" in page and "Globex" not in page
    for who in ("owner", "admin", "member"):
        url = f"/a/acme/inquiries/{asked[who].pk}/"
        assert client_for(personas.owner).get(url).status_code == 200


@pytest.mark.parametrize("who", ["admin", "member"])
def test_everyone_else_sees_only_their_own(client_for, personas, asked, who):
    page = client_for(getattr(personas, who)).get("/a/acme/inquiries/").content.decode()
    mine, theirs = {"admin": ("Admin", "Member"), "member": ("Member", "Admin")}[who]
    assert f"{mine}&#x27;s question" in page
    assert f"{theirs}&#x27;s question" not in page and "Owner&#x27;s" not in page


def test_an_owner_may_answer_and_close_a_members_inquiry(client_for, personas, asked):
    client = client_for(personas.owner)
    inquiry = asked["member"]
    client.post(f"/a/acme/inquiries/{inquiry.pk}/reply/", {"message": "Adding context."})
    client.post(f"/a/acme/inquiries/{inquiry.pk}/close/")
    inquiry.refresh_from_db()
    assert inquiry.status == Status.CLOSED and inquiry.messages.count() == 2


@pytest.mark.parametrize("who", ["owner", "admin", "member", "outsider"])
@pytest.mark.parametrize("path", TEAM_GETS + TEAM_POSTS)
def test_only_the_privacy_team_works_the_inbox(client_for, personas, asked, who, path):
    response = _request(client_for(getattr(personas, who)), path, pk=asked["member"].pk)
    assert response.status_code == 403
    inquiry = Inquiry.objects.get(pk=asked["member"].pk)
    assert (inquiry.status, inquiry.messages.count()) == (Status.OPEN, 1)


@pytest.mark.parametrize("path", TEAM_GETS)
def test_the_privacy_team_reads_every_accounts_inquiries(client_for, personas, asked, path):
    client = client_for(personas.reviewer)
    for inquiry in asked.values():
        assert client.get(path.format(pk=inquiry.pk)).status_code == 200


def test_a_missing_inquiry_is_404_for_the_team_too(client_for, personas):
    assert client_for(personas.reviewer).get("/review/inquiries/999/").status_code == 404


# --- CSRF --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "path"),
    [
        ("member", "/a/acme/inquiries/new/"),
        ("member", "/a/acme/inquiries/{pk}/reply/"),
        ("member", "/a/acme/inquiries/{pk}/close/"),
        ("reviewer", "/review/inquiries/{pk}/reply/"),
        ("reviewer", "/review/inquiries/{pk}/status/"),
        ("reviewer", "/review/inquiries/{pk}/assign/"),
        ("reviewer", "/review/inquiries/{pk}/propose/"),
        ("owner", "/a/acme/privacy/confirm/"),
    ],
)
def test_every_post_needs_the_csrf_token(personas, asked, small_catalog, user, path):
    client = Client(enforce_csrf_checks=True)
    client.force_login(getattr(personas, user))
    data = {"subject": "s", "message": "m", "status": "closed", "provider": "safe-ai"}
    response = client.post(path.format(pk=asked["member"].pk), data)
    assert response.status_code == 403
    assert Inquiry.objects.count() == 4
    assert InquiryMessage.objects.count() == 4
    assert Inquiry.objects.get(pk=asked["member"].pk).status == Status.OPEN
    assert not AuditEvent.objects.filter(account=personas.account).exclude(action="inquiry.opened")


# --- Asking ------------------------------------------------------------------------------------


def test_a_member_asks_with_a_related_endpoint_and_the_team_is_told(
    client_for, personas, small_catalog, django_capture_on_commit_callbacks
):
    endpoint = Endpoint.objects.get(model__slug="acme/chat", provider__slug="month-ai")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(personas.member).post(
            "/a/acme/inquiries/new/",
            {"subject": "Flagged content", "message": QUESTION, "endpoint": endpoint.pk},
        )
    inquiry = Inquiry.objects.get()
    assert response.status_code == 302 and response.url == f"/a/acme/inquiries/{inquiry.pk}/"
    assert (inquiry.author, inquiry.endpoint, inquiry.provider.slug) == (
        personas.member,
        endpoint,
        "month-ai",
    )
    assert inquiry.messages.get().body == QUESTION
    told = Notification.objects.get(kind=Kind.INQUIRY_INBOX)
    assert told.user == personas.reviewer and told.url == f"/review/inquiries/{inquiry.pk}/"
    assert [m.to for m in mail.outbox] == [["reviewer@anyapi.test"]]
    event = AuditEvent.objects.get(action="inquiry.opened")
    assert event.account == personas.account and event.actor == personas.member
    assert event.after == {
        "status": "open",
        "provider": "month-ai",
        "endpoint": endpoint.endpoint_id,
    }


def test_the_form_says_not_to_paste_prompts_or_customer_data(client_for, personas):
    page = client_for(personas.member).get("/a/acme/inquiries/new/")
    warning = _html(page).xpath("//*[@data-testid='no-secrets']")[0].text_content()
    assert "Do not paste prompts" in warning and "customers' data" in warning
    textarea = _html(page).xpath("//textarea[@name='message']")[0]
    assert textarea.get("maxlength") == str(inquiries.MAX_MESSAGE)


@pytest.mark.parametrize(
    ("subject", "message"),
    [
        ("x" * (inquiries.MAX_SUBJECT + 1), "fine"),
        ("fine", "x" * (inquiries.MAX_MESSAGE + 1)),
        ("", "fine"),
        ("fine", "   "),
    ],
)
def test_texts_are_length_capped_and_required(client_for, personas, subject, message):
    response = client_for(personas.member).post(
        "/a/acme/inquiries/new/", {"subject": subject, "message": message}
    )
    assert response.status_code == 200 and _html(response).xpath("//p[@class='field-error']")
    assert not Inquiry.objects.exists()


def test_a_reply_over_the_cap_is_refused(client_for, personas, asked):
    url = f"/a/acme/inquiries/{asked['member'].pk}/reply/"
    response = client_for(personas.member).post(url, {"message": "y" * 4001})
    assert response.status_code == 200 and asked["member"].messages.count() == 1


def test_a_provider_pages_link_opens_the_form_about_that_provider(
    client_for, personas, small_catalog
):
    client = client_for(personas.member)
    provider_page = client.get("/catalog/providers/month-ai/")
    link = _html(provider_page).xpath("//a[@data-testid='ask-about-provider']")[0].get("href")
    assert link == "/inquiries/new/?provider=month-ai"

    response = client.get(link)
    assert response.status_code == 302
    assert response.url == "/a/acme/inquiries/new/?provider=month-ai"
    form = _html(client.get(response.url))
    assert form.xpath("//select[@name='provider']/option[@selected]/@value") == ["month-ai"]
    assert form.xpath("//input[@name='subject']/@value") == [
        "Question about the policy of Month AI"
    ]


def test_an_endpoint_link_selects_the_endpoint_and_its_provider(
    client_for, personas, small_catalog
):
    client = client_for(personas.member)
    provider_page = _html(client.get("/catalog/providers/month-ai/"))
    links = provider_page.xpath("//a[contains(@class, 'ask-link')]/@href")
    assert "/inquiries/new/?endpoint=acme/tiny%40month-ai" in links
    form = _html(client.get("/a/acme/inquiries/new/?endpoint=acme/tiny@month-ai"))
    endpoint = Endpoint.objects.get(model__slug="acme/tiny", provider__slug="month-ai")
    assert form.xpath("//select[@name='endpoint']/option[@selected]/@value") == [str(endpoint.pk)]
    assert form.xpath("//select[@name='provider']/option[@selected]/@value") == ["month-ai"]


def test_someone_with_several_accounts_chooses_one(client_for, personas, small_catalog):
    Membership.objects.create(account=personas.other_account, user=personas.member)
    page = client_for(personas.member).get("/inquiries/new/?provider=safe-ai")
    assert page.status_code == 200
    links = _html(page).xpath("//main//li/a/@href")
    assert links == [
        "/a/acme/inquiries/new/?provider=safe-ai",
        "/a/globex/inquiries/new/?provider=safe-ai",
    ]


def test_signing_in_from_a_provider_page_keeps_the_question_on_the_way(client, personas):
    response = client.get("/inquiries/new/?provider=safe-ai")
    assert response.status_code == 302
    assert response.url == "/login/?next=/inquiries/new/%3Fprovider%3Dsafe-ai"


def test_the_account_navigation_links_to_the_inquiries(client_for, personas):
    page = _html(client_for(personas.member).get("/a/acme/"))
    assert "/a/acme/inquiries/" in page.xpath("//nav[@class='mainnav']/a/@href")


def test_the_team_navigation_links_to_the_inbox(client_for, personas):
    page = _html(client_for(personas.reviewer).get("/review/"))
    assert "/review/inquiries/" in page.xpath("//nav[@class='mainnav']/a/@href")
    assert "/review/inquiries/" in page.xpath("//nav[@class='tabs']/a/@href")


# --- Text only ---------------------------------------------------------------------------------


def _assert_inert(response):
    """The hostile texts are on the page as text and nowhere as markup."""
    page = _html(response)
    assert response.status_code == 200
    assert 'alert("subject")' in page.text_content()
    assert not [s for s in page.xpath("//script") if not s.get("src")], "inline script"
    assert not page.xpath("//*[@onerror]") and not page.xpath("//img[@src='x']")
    assert not [h for h in page.xpath("//@href") if h.strip().lower().startswith("javascript")]
    raw = response.content.decode()
    assert HOSTILE_SUBJECT not in raw and "<script>alert(3)" not in raw
    assert "&lt;script&gt;alert(&quot;subject&quot;)&lt;/script&gt;" in raw


def test_hostile_text_is_shown_as_text_on_every_page(client_for, personas):
    inquiry = _ask(personas.member, HOSTILE_SUBJECT, HOSTILE_BODY)
    inquiries.team_reply(inquiry, personas.reviewer, HOSTILE_BODY)
    inquiries.add_note(inquiry, personas.reviewer, HOSTILE_BODY)
    member, reviewer = Client(), Client()
    member.force_login(personas.member)
    reviewer.force_login(personas.reviewer)
    for client, url in [
        (member, "/a/acme/inquiries/"),
        (member, f"/a/acme/inquiries/{inquiry.pk}/"),
        (reviewer, "/review/inquiries/?status=waiting"),
        (reviewer, f"/review/inquiries/{inquiry.pk}/"),
    ]:
        _assert_inert(client.get(url))
    body = _html(member.get(f"/a/acme/inquiries/{inquiry.pk}/"))
    shown = [p.text_content() for p in body.xpath("//p[@class='thread-body']")]
    assert shown == [HOSTILE_BODY, HOSTILE_BODY]


def test_hostile_text_in_a_notification_list_is_inert(client_for, personas):
    inquiry = _ask(personas.member, HOSTILE_SUBJECT, HOSTILE_BODY)
    inquiries.team_reply(inquiry, personas.reviewer, HOSTILE_BODY)
    for user in (personas.member, personas.reviewer):
        raw = client_for(user).get("/notifications/").content.decode()
        assert "<script>" not in raw.split("</head>")[1] and "onerror" not in raw


# --- The thread --------------------------------------------------------------------------------


def test_a_conversation_moves_through_the_statuses_and_every_move_is_audited(
    client_for, personas, asked
):
    inquiry = asked["member"]
    reviewer = client_for(personas.reviewer)
    reviewer.post(f"/review/inquiries/{inquiry.pk}/assign/", {"assignee": personas.reviewer.pk})
    reviewer.post(f"/review/inquiries/{inquiry.pk}/reply/", {"message": "Yes: up to 30 days."})
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.assignee) == (Status.WAITING, personas.reviewer)

    member = Client()
    member.force_login(personas.member)
    member.post(f"/a/acme/inquiries/{inquiry.pk}/reply/", {"message": "And for free-ai?"})
    inquiry.refresh_from_db()
    assert inquiry.status == Status.OPEN

    reviewer.post(f"/review/inquiries/{inquiry.pk}/status/", {"status": "closed"})
    inquiry.refresh_from_db()
    assert inquiry.status == Status.CLOSED and inquiry.closed_at is not None

    member.post(f"/a/acme/inquiries/{inquiry.pk}/reply/", {"message": "One more thing."})
    inquiry.refresh_from_db()
    assert inquiry.status == Status.OPEN and inquiry.closed_at is None

    events = AuditEvent.objects.filter(target=f"inquiry #{inquiry.pk}").order_by("created", "id")
    moves = [
        (e.action, (e.before or {}).get("status"), (e.after or {}).get("status")) for e in events
    ]
    assert moves == [
        ("inquiry.opened", None, "open"),
        ("inquiry.assigned", None, None),
        ("inquiry.status_changed", "open", "waiting"),
        ("inquiry.status_changed", "waiting", "open"),
        ("inquiry.status_changed", "open", "closed"),
        ("inquiry.status_changed", "closed", "open"),
    ]
    assigned = events.get(action="inquiry.assigned")
    assert assigned.after == {"assignee": "reviewer@anyapi.test"}
    assert all(e.account == personas.account for e in events)


def test_the_author_closes_their_inquiry_and_the_team_is_told(
    client_for, personas, asked, django_capture_on_commit_callbacks
):
    inquiry = asked["member"]
    with django_capture_on_commit_callbacks(execute=True):
        client_for(personas.member).post(f"/a/acme/inquiries/{inquiry.pk}/close/")
    inquiry.refresh_from_db()
    assert inquiry.status == Status.CLOSED
    titles = Notification.objects.filter(user=personas.reviewer).values_list("title", flat=True)
    assert f"Inquiry #{inquiry.pk} from Acme: closed by the customer" in titles


def test_the_team_reopens_a_closed_inquiry_before_answering(client_for, personas, asked):
    inquiry = asked["member"]
    inquiries.close(inquiry, personas.member, by_team=False)
    client = client_for(personas.reviewer)
    response = client.post(f"/review/inquiries/{inquiry.pk}/reply/", {"message": "Late answer"})
    assert response.status_code == 409 and inquiry.messages.count() == 1
    client.post(f"/review/inquiries/{inquiry.pk}/status/", {"status": "open"})
    client.post(f"/review/inquiries/{inquiry.pk}/reply/", {"message": "Late answer"})
    inquiry.refresh_from_db()
    assert inquiry.status == Status.WAITING and inquiry.messages.count() == 2


def test_only_privacy_team_members_can_be_assigned(client_for, personas, asked):
    inquiry = asked["member"]
    client = client_for(personas.reviewer)
    client.post(f"/review/inquiries/{inquiry.pk}/assign/", {"assignee": personas.owner.pk})
    inquiry.refresh_from_db()
    assert inquiry.assignee is None
    assert not AuditEvent.objects.filter(action="inquiry.assigned").exists()


def test_an_assignee_other_than_oneself_is_told(
    client_for, personas, asked, django_capture_on_commit_callbacks
):
    from django.contrib.auth.models import Group

    colleague = type(personas.reviewer).objects.create_user("c@anyapi.test", "c@anyapi.test", "x")
    colleague.groups.add(Group.objects.get(name="privacy-team"))
    inquiry = asked["member"]
    with django_capture_on_commit_callbacks(execute=True):
        client_for(personas.reviewer).post(
            f"/review/inquiries/{inquiry.pk}/assign/", {"assignee": colleague.pk}
        )
    told = Notification.objects.filter(user=colleague, kind=Kind.INQUIRY_INBOX)
    assert [n.title for n in told] == [f"Inquiry #{inquiry.pk} from Acme: assigned to you"]
    # From now on only the assignee hears about this inquiry.
    Notification.objects.all().delete()
    inquiries.customer_reply(inquiry, personas.member, "More detail")
    assert list(Notification.objects.values_list("user__email", flat=True)) == ["c@anyapi.test"]


def test_a_good_question_becomes_a_manual_catalog_proposal(client_for, personas, small_catalog):
    inquiry = _ask(personas.member, provider=Provider.objects.get(slug="month-ai"))
    client = client_for(personas.reviewer)
    page = _html(client.get(f"/review/inquiries/{inquiry.pk}/"))
    assert page.xpath("//select[@name='provider']/option[@selected]/@value") == ["month-ai"]
    response = client.post(f"/review/inquiries/{inquiry.pk}/propose/", {"provider": "month-ai"})
    assert response.status_code == 302 and response.url == "/review/providers/month-ai/propose/"
    assert client.get(response.url).status_code == 200
    note = inquiry.messages.get(internal=True)
    assert "manual catalog proposal for Month AI" in note.body


# --- Internal notes stay in the team ------------------------------------------------------------

NOTE = "NOTE-CANARY the customer's DPA is unsigned, escalate"
ANSWER = "ANSWER-CANARY Month AI keeps flagged content up to 30 days."


@pytest.fixture
def answered(personas, asked, django_capture_on_commit_callbacks):
    inquiry = asked["member"]
    with django_capture_on_commit_callbacks(execute=True):
        inquiries.add_note(inquiry, personas.reviewer, NOTE)
        inquiries.team_reply(inquiry, personas.reviewer, ANSWER)
        inquiries.close(inquiry, personas.reviewer, by_team=True)
    return inquiry


def test_internal_notes_are_not_on_the_customers_pages(client_for, personas, answered):
    for user in (personas.member, personas.owner):
        client = client_for(user)
        detail = client.get(f"/a/acme/inquiries/{answered.pk}/").content.decode()
        assert ANSWER in detail and "NOTE-CANARY" not in detail
        assert "internal note" not in detail.lower()
        listing = client.get("/a/acme/inquiries/").content.decode()
        assert "NOTE-CANARY" not in listing
    # The thread count on the list counts what the customer sees: question and answer.
    row = _html(client.get("/a/acme/inquiries/")).xpath(
        f"//tr[@data-inquiry='{answered.pk}']/td[@data-label='Messages']"
    )
    assert row[0].text_content() == "2"


def test_the_team_sees_its_notes_marked_as_internal(client_for, personas, answered):
    page = client_for(personas.reviewer).get(f"/review/inquiries/{answered.pk}/")
    items = _html(page).xpath("//li[@data-testid='thread-item']")
    internal = [i for i in items if "internal" in i.get("class")]
    assert len(items) == 3 and len(internal) == 1
    assert "NOTE-CANARY" in internal[0].text_content()


def test_internal_notes_are_in_no_notification_or_email(personas, answered):
    texts = [f"{n.title} {n.body}" for n in Notification.objects.all()]
    texts += [f"{m.subject} {m.body}" for m in mail.outbox]
    assert texts and not [t for t in texts if "NOTE-CANARY" in t]
    # Nor the answer or the question: a notification says where to read, not what was said.
    assert not [t for t in texts if "ANSWER-CANARY" in t or QUESTION in t]
    customer = Notification.objects.filter(user=personas.member, kind=Kind.INQUIRY_UPDATE)
    assert [n.title for n in customer.order_by("id")] == [
        f"Your privacy inquiry #{answered.pk}: the privacy team answered",
        f"Your privacy inquiry #{answered.pk}: closed by the privacy team",
    ]


def test_internal_notes_stay_out_of_the_accounts_audit_log(client_for, personas, answered):
    assert not AuditEvent.objects.filter(account=personas.account, action="inquiry.note_added")
    assert AuditEvent.objects.get(action="inquiry.note_added").account is None
    page = client_for(personas.owner).get("/a/acme/audit/").content.decode()
    assert "note_added" not in page and "NOTE-CANARY" not in page


def _export(client) -> zipfile.ZipFile:
    response = client.get("/a/acme/usage/export.zip")
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def _csv(archive, name) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode())))


def test_the_owners_export_has_the_inquiries_without_internal_notes(
    client_for, personas, answered, asked
):
    archive = _export(client_for(personas.owner))
    rows = _csv(archive, "inquiries.csv")
    assert sorted(r["subject"] for r in rows) == [
        "Admin's question",
        "Member's question",
        "Owner's question",
    ]
    closed = next(r for r in rows if r["inquiry"] == str(answered.pk))
    assert (closed["asked_by"], closed["status"]) == ("member@acme.test", "Closed")
    messages = [
        r for r in _csv(archive, "inquiry_messages.csv") if r["inquiry"] == str(answered.pk)
    ]
    assert [(m["from"], m["message"]) for m in messages] == [
        ("member@acme.test", QUESTION),
        ("AnyAPI privacy team", ANSWER),
    ]
    assert b"NOTE-CANARY" not in b"".join(archive.read(n) for n in archive.namelist())
    assert "Globex" not in archive.read("inquiries.csv").decode()


def test_message_bodies_are_never_logged(client_for, personas, caplog, small_catalog):
    caplog.set_level(logging.DEBUG)
    member = client_for(personas.member)
    member.post(
        "/a/acme/inquiries/new/", {"subject": "LOG-CANARY subject", "message": "LOG-CANARY"}
    )
    inquiry = Inquiry.objects.get()
    reviewer = Client()
    reviewer.force_login(personas.reviewer)
    reviewer.post(f"/review/inquiries/{inquiry.pk}/reply/", {"message": "LOG-CANARY answer"})
    reviewer.post(
        f"/review/inquiries/{inquiry.pk}/reply/", {"message": "LOG-CANARY note", "action": "note"}
    )
    member.post(f"/a/acme/inquiries/{inquiry.pk}/reply/", {"message": "x" * 5000 + "LOG-CANARY"})
    assert inquiry.messages.count() == 3
    assert "LOG-CANARY" not in caplog.text
    assert not AuditEvent.objects.filter(after__icontains="LOG-CANARY").exists()


# --- Email preferences -------------------------------------------------------------------------


def test_a_muted_inquiry_kind_is_shown_but_not_emailed(
    personas, asked, django_capture_on_commit_callbacks
):
    EmailMute.objects.create(user=personas.member, kind=Kind.INQUIRY_UPDATE)
    EmailMute.objects.create(user=personas.reviewer, kind=Kind.INQUIRY_INBOX)
    with django_capture_on_commit_callbacks(execute=True):
        inquiries.team_reply(asked["member"], personas.reviewer, ANSWER)
        inquiries.customer_reply(asked["member"], personas.member, "thanks")
    assert Notification.objects.filter(user=personas.member, kind=Kind.INQUIRY_UPDATE).exists()
    assert Notification.objects.filter(user=personas.reviewer, kind=Kind.INQUIRY_INBOX).exists()
    assert mail.outbox == []


def test_when_the_author_has_left_the_owners_hear_the_answer(personas, asked):
    Membership.objects.filter(user=personas.member).delete()
    inquiries.team_reply(asked["member"], personas.reviewer, ANSWER)
    told = Notification.objects.filter(kind=Kind.INQUIRY_UPDATE)
    assert [n.user for n in told] == [personas.owner]


# --- Keeping little ----------------------------------------------------------------------------


def _closed_days_ago(inquiry, days):
    Inquiry.objects.filter(pk=inquiry.pk).update(
        status=Status.CLOSED, closed_at=timezone.now() - timedelta(days=days)
    )


def test_closed_inquiries_past_retention_are_deleted_with_their_thread(personas, asked, settings):
    settings.INQUIRY_RETENTION_DAYS = 365
    _closed_days_ago(asked["member"], 366)
    _closed_days_ago(asked["admin"], 364)
    Inquiry.objects.filter(pk=asked["owner"].pk).update(
        created=timezone.now() - timedelta(days=900)
    )

    assert inquiries.purge_expired() == 1

    assert set(Inquiry.objects.values_list("pk", flat=True)) == {
        asked["admin"].pk,
        asked["owner"].pk,
        asked["outsider"].pk,
    }
    assert not InquiryMessage.objects.filter(inquiry_id=asked["member"].pk).exists()
    event = AuditEvent.objects.get(action="inquiry.deleted")
    assert (event.account, event.actor_label, event.target) == (
        personas.account,
        "retention",
        f"inquiry #{asked['member'].pk}",
    )
    assert inquiries.purge_expired() == 0


def test_the_retention_period_is_a_setting(personas, asked, settings):
    settings.INQUIRY_RETENTION_DAYS = 30
    _closed_days_ago(asked["member"], 31)
    assert inquiries.purge_expired() == 1


def test_deleting_the_accounts_data_deletes_its_inquiries(client_for, personas, asked):
    response = client_for(personas.owner).post("/a/acme/usage/delete/", {"confirm": "acme"})
    assert response.status_code == 302
    assert list(Inquiry.objects.values_list("account__slug", flat=True)) == ["globex"]
    assert not InquiryMessage.objects.filter(inquiry__account=personas.account).exists()
    assert AuditEvent.objects.get(action="usage.deleted").before["inquiries"] == 3


def test_the_usage_data_page_counts_the_inquiries(client_for, personas, asked):
    page = _html(client_for(personas.owner).get("/a/acme/usage/"))
    assert page.xpath("//*[@data-testid='inquiries']")[0].text_content() == "3"
    assert page.xpath("//a[contains(@href, 'export.zip')]")


# --- Query counts ------------------------------------------------------------------------------


def _queries(client, url) -> int:
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def _many(personas, small_catalog, n):
    endpoint = Endpoint.objects.first()
    for i in range(n):
        inquiry = _ask(personas.member, f"Question {i}", endpoint=endpoint)
        inquiries.team_reply(inquiry, personas.reviewer, "answer")
        inquiries.assign(inquiry, personas.reviewer, personas.reviewer)
        inquiries.customer_reply(inquiry, personas.member, "thanks")


@pytest.mark.parametrize(
    ("who", "url", "expected"),
    [
        # session, user, membership; menu, team check, bell; count, page
        ("owner", "/a/acme/inquiries/", 8),
        ("member", "/a/acme/inquiries/", 8),
        # session, user, team check; tab counts, count, page; memberships, team check, bell
        ("reviewer", "/review/inquiries/?status=open", 9),
    ],
)
def test_the_lists_cost_a_fixed_number_of_queries(
    client_for, personas, small_catalog, who, url, expected
):
    client = client_for(getattr(personas, who))
    _many(personas, small_catalog, 1)
    one = _queries(client, url)
    _many(personas, small_catalog, 12)
    assert one == _queries(client, url) == expected


@pytest.mark.parametrize("team", [False, True])
def test_an_inquiry_page_costs_the_same_for_a_long_thread(
    client_for, personas, small_catalog, team
):
    inquiry = _ask(personas.member, endpoint=Endpoint.objects.first())
    user = personas.reviewer if team else personas.member
    url = f"/review/inquiries/{inquiry.pk}/" if team else f"/a/acme/inquiries/{inquiry.pk}/"
    client = client_for(user)
    short = _queries(client, url)
    for _ in range(10):
        inquiries.team_reply(inquiry, personas.reviewer, "answer")
        inquiries.add_note(inquiry, personas.reviewer, "note")
        inquiries.customer_reply(inquiry, personas.member, "reply")
    assert _queries(client, url) == short


# --- Legal details -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login/", "/a/acme/", "/catalog/", "/review/inquiries/"])
def test_every_pages_footer_links_the_legal_pages_from_the_settings(
    client_for, personas, settings, path
):
    settings.PRIVACY_POLICY_URL = "https://legal.example/privacy"
    settings.TERMS_OF_SERVICE_URL = "https://legal.example/terms"
    client = (
        Client()
        if path == "/login/"
        else client_for(personas.owner if path == "/a/acme/" else personas.reviewer)
    )
    footer = _html(client.get(path)).xpath("//footer//a")
    assert {a.text_content(): a.get("href") for a in footer} == {
        "Privacy policy": "https://legal.example/privacy",
        "Terms of service": "https://legal.example/terms",
    }
