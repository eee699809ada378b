import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from dashboard.models import AuditEvent, Invitation, Membership, Role

pytestmark = pytest.mark.django_db


def _invite(client, email, role="member"):
    client.post("/a/acme/members/", {"email": email, "role": role})
    return re.search(r"/invitations/([\w-]+)/", mail.outbox[-1].body).group(0)


def test_owner_invites_by_email_and_a_new_person_joins(client_for, personas, client):
    link = _invite(client_for(personas.owner), "new@acme.test")
    assert mail.outbox[-1].to == ["new@acme.test"]
    client.logout()
    response = client.post(
        link, {"new_password1": "a fresh long pass 42", "new_password2": "a fresh long pass 42"}
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(email="new@acme.test")
    assert Membership.objects.get(user=user, account=personas.account).role == Role.MEMBER
    assert AuditEvent.objects.filter(action="member.joined", target="new@acme.test").exists()


def test_an_existing_user_must_sign_in_as_the_invited_email(client_for, personas, client):
    link = _invite(client_for(personas.owner), "outsider@globex.test")
    client.force_login(personas.member)
    assert b"Sign in as outsider@globex.test" in client.get(link).content
    client.force_login(personas.outsider)
    client.post(link)
    assert Membership.objects.filter(user=personas.outsider, account=personas.account).exists()


def test_an_invitation_works_once(client_for, personas, client):
    link = _invite(client_for(personas.owner), "outsider@globex.test")
    client.force_login(personas.outsider)
    client.post(link)
    assert client.get(link).status_code == 404


def test_the_invitation_token_is_not_stored(client_for, personas):
    link = _invite(client_for(personas.owner), "new@acme.test")
    token = link.strip("/").split("/")[-1]
    assert not Invitation.objects.filter(token_hash=token).exists()


def test_admin_cannot_invite_an_owner(client_for, personas):
    client_for(personas.admin).post("/a/acme/members/", {"email": "x@y.test", "role": "owner"})
    assert not Invitation.objects.exists()


def test_inviting_an_existing_member_is_refused_with_a_message(client_for, personas):
    response = client_for(personas.owner).post(
        "/a/acme/members/", {"email": "MEMBER@acme.test", "role": "member"}
    )
    assert b"already a member" in response.content
    assert not Invitation.objects.exists()


def test_revoked_invitations_no_longer_work(client_for, personas, client):
    owner = client_for(personas.owner)
    link = _invite(owner, "new@acme.test")
    owner.post(f"/a/acme/invitations/{Invitation.objects.get().pk}/revoke/")
    client.logout()
    assert client.get(link).status_code == 404


def test_inviting_the_same_address_twice_leaves_one_invitation_whose_new_link_works(
    client_for, personas, client
):
    owner = client_for(personas.owner)
    first = _invite(owner, "new@acme.test")
    second = _invite(owner, "NEW@acme.test", role="admin")

    assert Invitation.objects.pending().count() == 1
    assert Invitation.objects.pending().get().role == Role.ADMIN
    client.logout()
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200


def test_the_invitation_link_is_one_unwrapped_line_however_long_the_site_url(
    client_for, personas, settings
):
    settings.SITE_URL = "https://privacy-console.eu-west-1.anyapi.example.com:8765"
    _invite(client_for(personas.owner), "new@acme.test")

    raw = mail.outbox[-1].message().as_string()

    assert "Content-Transfer-Encoding: 7bit" in raw
    link = re.search(r"^https://\S+/invitations/[\w-]+/$", raw, re.MULTILINE)
    assert link and link.group(0) in mail.outbox[-1].body


def test_the_welcome_never_doubles_the_full_stop_of_an_account_name(client_for, personas, client):
    personas.account.name = "Demo Inc."
    personas.account.save()
    link = _invite(client_for(personas.owner), "outsider@globex.test")
    client.force_login(personas.outsider)

    response = client.post(link, follow=True)

    assert "Welcome to Demo Inc.." not in response.content.decode()
    assert "Welcome to Demo Inc." in response.content.decode()
