import pytest
from django.core.management import call_command

from dashboard.models import ApiKey, AuditEvent
from tests.canary import everything_stored

pytestmark = pytest.mark.django_db


def test_a_key_secret_is_never_stored(personas):
    _, secret = ApiKey.issue(name="gateway", account=personas.account)
    assert secret.split(".", 1)[1] not in everything_stored()


def test_a_cached_key_lookup_needs_no_query(personas, django_assert_num_queries):
    key, secret = ApiKey.issue(name="gateway", account=personas.account)
    ApiKey.authenticate(secret)
    with django_assert_num_queries(0):
        cached = ApiKey.authenticate(secret)
    assert cached == key and cached.account.slug == "acme"


def test_a_created_key_authenticates_and_records_last_use(personas):
    key, secret = ApiKey.issue(name="gateway", account=personas.account)
    assert ApiKey.authenticate(secret) == key
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_a_revoked_key_gets_401(client, personas):
    key, secret = ApiKey.issue(name="gateway", account=personas.account)
    key.revoked_at = key.created
    key.save()
    response = client.get("/api/v1/account", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "header", ["", "Bearer", "Bearer nonsense", "Bearer aa0000000000.wrong", "Basic abc"]
)
def test_unknown_or_malformed_keys_get_401_json(client, personas, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/account", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_a_right_prefix_with_a_wrong_secret_gets_401(client, personas):
    key, _ = ApiKey.issue(name="gateway", account=personas.account)
    response = client.get("/api/v1/account", headers={"Authorization": f"Bearer {key.prefix}.x"})
    assert response.status_code == 401


def test_a_key_of_the_wrong_kind_gets_403(client, personas):
    _, secret = ApiKey.issue(name="ingest", kind=ApiKey.Kind.INGEST)
    response = client.get("/api/v1/account", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "wrong_key_kind"


def test_an_account_key_identifies_its_account(client, personas):
    _, secret = ApiKey.issue(name="gateway", account=personas.account)
    body = client.get("/api/v1/account", headers={"Authorization": f"Bearer {secret}"}).json()
    assert body["slug"] == "acme" and body["key"]["kind"] == "inference"


def test_owner_creates_a_key_in_the_browser_and_sees_the_secret_once(client_for, personas):
    client = client_for(personas.owner)
    response = client.post("/a/acme/keys/", {"name": "prod gateway", "kind": "management"})
    key = ApiKey.objects.get(name="prod gateway")
    page = response.content.decode()
    secret = page.split('data-testid="new-secret">')[1].split("<")[0]
    assert ApiKey.authenticate(secret) == key and key.kind == "management"
    assert secret not in client.get("/a/acme/keys/").content.decode()
    assert AuditEvent.objects.get(action="apikey.created").after["prefix"] == key.prefix


def test_an_htmx_key_creation_returns_only_the_panel(client_for, personas):
    client = client_for(personas.admin)
    response = client.post(
        "/a/acme/keys/", {"name": "k", "kind": "inference"}, headers={"HX-Request": "true"}
    )
    page = response.content.decode()
    assert 'id="key-panel"' in page and "<html" not in page


def test_owner_revokes_a_key_and_it_stops_working(client_for, personas):
    key, secret = ApiKey.issue(name="gateway", account=personas.account)
    assert ApiKey.authenticate(secret) == key  # now in the cache
    client_for(personas.owner).post(f"/a/acme/keys/{key.prefix}/revoke/", {"confirmed": "1"})
    assert ApiKey.authenticate(secret) is None
    event = AuditEvent.objects.get(action="apikey.revoked")
    assert event.target == key.prefix and event.after == {"active": False}


@pytest.mark.parametrize("method", ["get", "post"])
def test_revoking_asks_first_saying_what_stops_working(client_for, personas, method):
    key, secret = ApiKey.issue(name="gateway", account=personas.account)

    response = getattr(client_for(personas.owner), method)(f"/a/acme/keys/{key.prefix}/revoke/")

    assert response.status_code == 200
    assert "Every request with this key is refused (401) from now on" in response.content.decode()
    assert ApiKey.authenticate(secret) == key


def test_a_long_key_name_is_allowed_to_wrap_in_the_key_table(client_for, personas):
    ApiKey.issue(name="x" * 100, account=personas.account)
    page = client_for(personas.owner).get("/a/acme/keys/").content.decode()
    assert '<td data-label="Name" class="key-name">' + "x" * 100 in page


def test_createapikey_prints_the_secret_alone_on_the_last_line(personas, capsys):
    call_command("createapikey", "acme", "--name", "cli", "--management")
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    key = ApiKey.authenticate(last_line)
    assert key.kind == "management" and key.account == personas.account and key.name == "cli"


def test_createapikey_ingest_makes_a_platform_key(db, capsys):
    call_command("createapikey", "--ingest")
    key = ApiKey.authenticate(capsys.readouterr().out.strip().splitlines()[-1])
    assert key.kind == "ingest" and key.account is None


def test_createapikey_refuses_an_unknown_account(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No account"):
        call_command("createapikey", "nope")


def test_createaccount_creates_the_account_and_its_owner(db, capsys):
    call_command("createaccount", "initech", "--owner", "Boss@Initech.test")
    from dashboard.models import Membership

    membership = Membership.objects.get(account__slug="initech")
    assert membership.user.email == "boss@initech.test" and membership.role == "owner"


def test_seed_demo_prints_a_login_that_works(db, capsys, client):
    call_command("seed_demo")
    out = capsys.readouterr().out
    password = out.split("password: ")[1].split()[0]
    assert client.login(username="owner@demo.anyapi.test", password=password)
