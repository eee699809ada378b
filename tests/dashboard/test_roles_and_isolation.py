import pytest

from dashboard.models import ApiKey, AuditEvent, Invitation, Membership, Role

pytestmark = pytest.mark.django_db

ACCOUNT_PAGES = ["/a/acme/", "/a/acme/keys/", "/a/acme/members/"]
MANAGER_PAGES = ["/a/acme/audit/", "/a/acme/audit.csv"]


@pytest.mark.parametrize("path", ACCOUNT_PAGES + MANAGER_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, personas, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("path", ACCOUNT_PAGES + MANAGER_PAGES)
def test_another_accounts_pages_are_404(client_for, personas, path):
    assert client_for(personas.outsider).get(path).status_code == 404


@pytest.mark.parametrize("path", ACCOUNT_PAGES)
def test_every_role_reads_the_account_pages(client_for, personas, path):
    for user in (personas.owner, personas.admin, personas.member):
        assert client_for(user).get(path).status_code == 200


@pytest.mark.parametrize("path", MANAGER_PAGES)
def test_member_cannot_read_the_audit_log(client_for, personas, path):
    assert client_for(personas.member).get(path).status_code == 403


def test_member_cannot_create_keys(client_for, personas):
    client = client_for(personas.member)
    response = client.post("/a/acme/keys/", {"name": "sneaky", "kind": "inference"})
    assert response.status_code == 403
    assert not ApiKey.objects.filter(name="sneaky").exists()


def test_member_cannot_revoke_keys(client_for, personas):
    key, _ = ApiKey.issue(name="k", account=personas.account)
    response = client_for(personas.member).post(
        f"/a/acme/keys/{key.prefix}/revoke/", {"confirmed": "1"}
    )
    assert response.status_code == 403
    key.refresh_from_db()
    assert key.is_active


def test_member_cannot_invite(client_for, personas):
    client = client_for(personas.member)
    response = client.post("/a/acme/members/", {"email": "x@y.test", "role": "member"})
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_member_cannot_change_roles(client_for, personas):
    subject = Membership.objects.get(user=personas.admin)
    response = client_for(personas.member).post(
        f"/a/acme/members/{subject.pk}/role/", {"role": "member"}
    )
    assert response.status_code == 403
    subject.refresh_from_db()
    assert subject.role == Role.ADMIN


def test_another_accounts_key_cannot_be_revoked(client_for, personas):
    key, _ = ApiKey.issue(name="theirs", account=personas.other_account)
    response = client_for(personas.owner).post(
        f"/a/acme/keys/{key.prefix}/revoke/", {"confirmed": "1"}
    )
    assert response.status_code == 404
    key.refresh_from_db()
    assert key.is_active


def test_another_accounts_member_cannot_be_removed(client_for, personas):
    theirs = Membership.objects.get(user=personas.outsider)
    response = client_for(personas.owner).post(f"/a/acme/members/{theirs.pk}/remove/")
    assert response.status_code == 404
    assert Membership.objects.filter(pk=theirs.pk).exists()


def test_other_accounts_keys_are_not_listed(client_for, personas):
    ApiKey.issue(name="globex-secret-key", account=personas.other_account)
    page = client_for(personas.owner).get("/a/acme/keys/").content.decode()
    assert "globex-secret-key" not in page


def test_admin_cannot_demote_an_owner(client_for, personas):
    owner = Membership.objects.get(user=personas.owner)
    client = client_for(personas.admin)
    client.post(f"/a/acme/members/{owner.pk}/role/", {"role": "member"})
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_admin_cannot_make_an_owner(client_for, personas):
    member = Membership.objects.get(user=personas.member)
    client_for(personas.admin).post(f"/a/acme/members/{member.pk}/role/", {"role": "owner"})
    member.refresh_from_db()
    assert member.role == Role.MEMBER


def test_the_last_owner_cannot_leave_the_account_ownerless(client_for, personas):
    owner = Membership.objects.get(user=personas.owner)
    client = client_for(personas.owner)
    client.post(f"/a/acme/members/{owner.pk}/role/", {"role": "admin"})
    client.post(f"/a/acme/members/{owner.pk}/remove/")
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_owner_changes_a_role_and_it_is_audited(client_for, personas):
    member = Membership.objects.get(user=personas.member)
    client_for(personas.owner).post(f"/a/acme/members/{member.pk}/role/", {"role": "admin"})
    member.refresh_from_db()
    assert member.role == Role.ADMIN
    event = AuditEvent.objects.get(action="member.role_changed")
    assert (event.before, event.after) == ({"role": "member"}, {"role": "admin"})
    assert event.actor == personas.owner and event.target == "member@acme.test"


def test_admin_removes_a_member_and_it_is_audited(client_for, personas):
    member = Membership.objects.get(user=personas.member)
    client_for(personas.admin).post(f"/a/acme/members/{member.pk}/remove/")
    assert not Membership.objects.filter(pk=member.pk).exists()
    assert AuditEvent.objects.filter(action="member.removed", target="member@acme.test").exists()


def test_switching_accounts_lists_only_the_users_accounts(client_for, personas):
    Membership.objects.create(account=personas.other_account, user=personas.owner)
    client = client_for(personas.owner)
    page = client.get("/a/globex/").content.decode()
    assert "Globex" in page and "Acme" in page
    assert client.get("/").headers["Location"] == "/a/globex/activity/"


def test_accounts_list_hides_accounts_the_user_is_not_in(client_for, personas):
    page = client_for(personas.outsider).get("/accounts/").content.decode()
    assert "Globex" in page and "Acme" not in page


def test_creating_an_account_makes_the_creator_its_owner(client_for, personas):
    response = client_for(personas.member).post("/accounts/", {"name": "Side Project"})
    assert response.status_code == 302
    membership = Membership.objects.get(user=personas.member, account__name="Side Project")
    assert membership.role == Role.OWNER
