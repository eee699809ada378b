"""seed_demo builds a demo in which every page has something true to show (issue 14)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog.models import PolicyChange
from catalog.policy import resolver
from catalog.policy.snapshot import get_catalog
from catalog.review import changes
from dashboard import demo, privacy
from dashboard.models import Account, ApiKey, Notification, Receipt
from usage.models import ModelRanking, UsageEvent


@pytest.fixture
def seeded(small_catalog, settings, monkeypatch):
    settings.USAGE_RANKING_MIN_ACCOUNTS = 5
    # The small catalog's only certified provider holds soc2, not the shipped demo's hipaa.
    monkeypatch.setattr(demo, "DEMO_REGULATED_CERTIFICATIONS", ("soc2",))
    out = StringIO()
    call_command("seed_demo", "--password", "demo pass 1234", "--usage-events", "2000", stdout=out)
    return out.getvalue()


def test_the_demo_prints_two_reviewers_and_the_owner(seeded):
    assert demo.DEMO_OWNER in seeded
    assert demo.DEMO_PRIVACY in seeded and demo.DEMO_PRIVACY_SECOND in seeded


def test_the_demo_has_enough_accounts_for_rankings(seeded):
    assert Account.objects.count() >= 5
    assert ModelRanking.objects.exists()


def test_every_demo_request_went_where_its_keys_settings_allow(seeded):
    today = timezone.now().date()
    catalog = get_catalog()
    keys = {key.pk: key for key in ApiKey.objects.filter(account__isnull=False)}
    sent = set(UsageEvent.objects.values_list("api_key_id", "route__model", "route__provider"))
    assert sent
    for key_id, model, provider in sent:
        effective = resolver.merge(privacy.layers_for_key(keys[key_id]))
        allowed = resolver.resolve(catalog, model, effective, today).eligible
        assert (model, provider) in {(e.model, e.provider) for e in allowed}


def test_a_regulated_key_has_receipts(seeded):
    key = ApiKey.objects.get(name=demo.REGULATED_KEY)
    assert key.guardrail.classification == "regulated"
    assert Receipt.objects.filter(key_prefix=key.prefix).count() == demo.RECEIPTS


def test_the_queue_holds_a_change_the_second_reviewer_can_approve(seeded):
    from django.contrib.auth import get_user_model

    waiting = PolicyChange.objects.open().get()
    second = get_user_model().objects.get(email=demo.DEMO_PRIVACY_SECOND)
    changes.approve(waiting, second, "Checked the quoted terms.")
    assert PolicyChange.objects.filter(status="approved").count() == 2


def test_the_owner_has_notifications_one_linking_to_the_changelog(seeded):
    urls = set(
        Notification.objects.filter(user__email=demo.DEMO_OWNER).values_list("url", flat=True)
    )
    assert "/catalog/changes/" in urls
    assert len(urls) >= 2


def test_seeding_twice_adds_nothing(seeded):
    counts = (UsageEvent.objects.count(), Receipt.objects.count(), PolicyChange.objects.count())
    call_command("seed_demo", "--usage-events", "2000", stdout=StringIO())
    assert (
        UsageEvent.objects.count(),
        Receipt.objects.count(),
        PolicyChange.objects.count(),
    ) == counts


def test_make_run_on_another_port_points_the_demos_links_at_it():
    import os
    import subprocess
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k != "SITE_URL"}
    root = Path(__file__).resolve().parents[2]
    plan = subprocess.run(
        ["make", "-n", "run", "PORT=8765"], cwd=root, env=env, capture_output=True, text=True
    ).stdout
    seed = next(line for line in plan.splitlines() if "seed_demo" in line)
    serve = next(line for line in plan.splitlines() if "dev-processes.sh" in line)
    assert seed.startswith("SITE_URL=http://127.0.0.1:8765 ")
    assert serve.startswith("SITE_URL=http://127.0.0.1:8765 ")


def test_the_demo_login_names_the_site_url(small_catalog, settings):
    settings.SITE_URL = "http://127.0.0.1:8765"
    out = StringIO()
    call_command("seed_demo", "--usage-events", "0", stdout=out)
    assert "Sign in at http://127.0.0.1:8765/login/" in out.getvalue()
