import copy
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Endpoint, PolicyVersion, Provider
from catalog.policy import snapshot
from dashboard.models import AuditEvent
from tests.catalog.conftest import SMALL_CATALOG

pytestmark = pytest.mark.django_db


def _write(tmp_path, data):
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data))
    return path


def _merged(endpoint_id):
    return next(
        e for e in snapshot.get_catalog().endpoints_for("anyapi/auto") if e.id == endpoint_id
    ).policy


def test_an_empty_catalog_imports_approved_versions_audited_as_import(tmp_path, capsys):
    call_command("loadcatalog", _write(tmp_path, SMALL_CATALOG))
    report = json.loads(capsys.readouterr().out)
    assert report["imported"] == 4 and report["proposed"] == 0
    assert PolicyVersion.objects.current().count() == 4
    assert AuditEvent.objects.filter(action="policy.imported").count() == 4


def test_a_first_import_takes_effect_at_one_moment(small_catalog):
    """No endpoint seems, for an instant, to have had its provider's policy before its own."""
    approved = PolicyVersion.objects.approved()

    assert approved.filter(endpoint__isnull=False).exists()
    assert approved.values("decided_at").distinct().count() == 1


def test_an_override_merges_field_by_field_over_the_provider(small_catalog):
    policy = _merged("acme/tiny@month-ai")
    assert (policy.retention, policy.retention_days, policy.training) == ("days", 90, "no")


def test_a_field_given_nowhere_is_unknown(small_catalog):
    policy = _merged("acme/chat@free-ai")
    assert policy.safety_retention == "unknown" and policy.regions == frozenset()
    assert policy.review_due is None and policy.certifications == frozenset()


def test_loading_the_same_file_again_changes_nothing(small_catalog, tmp_path, capsys):
    call_command("loadcatalog", _write(tmp_path, small_catalog))
    report = json.loads(capsys.readouterr().out)
    assert report["unchanged"] == 4 and report["proposed"] == 0


def test_a_differing_entry_becomes_a_proposal_not_a_change(small_catalog, tmp_path, capsys):
    changed = copy.deepcopy(small_catalog)
    changed["providers"][0]["policy"]["retention"] = "indefinite"
    version_before = snapshot.get_catalog().version
    call_command("loadcatalog", _write(tmp_path, changed))
    assert json.loads(capsys.readouterr().out)["proposed"] == 1
    snapshot.forget()
    assert _merged("acme/chat@safe-ai").retention == "zero"
    assert snapshot.get_catalog().version == version_before
    assert PolicyVersion.objects.pending().get().retention == "indefinite"


def test_approve_as_applies_the_change_with_that_reviewer(small_catalog, tmp_path, personas):
    changed = copy.deepcopy(small_catalog)
    changed["providers"][0]["policy"]["retention"] = "indefinite"
    call_command("loadcatalog", _write(tmp_path, changed), "--approve-as", "reviewer@anyapi.test")
    snapshot.forget()
    assert _merged("acme/chat@safe-ai").retention == "indefinite"
    assert AuditEvent.objects.get(action="policy.approved").actor == personas.reviewer


def test_approve_as_must_be_a_privacy_team_member(small_catalog, tmp_path, personas):
    changed = copy.deepcopy(small_catalog)
    changed["providers"][0]["policy"]["training"] = "yes"
    from catalog.review.versions import ReviewError

    with pytest.raises(ReviewError, match="privacy-team"):
        call_command("loadcatalog", _write(tmp_path, changed), "--approve-as", "owner@acme.test")
    assert not PolicyVersion.objects.pending().exists()


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (
            lambda d: d["providers"][1]["policy"].update(retention_days=0),
            "providers.1.policy.retention_days",
        ),
        (
            lambda d: d["providers"][2]["policy"].update(training="maybe"),
            "providers.2.policy.training",
        ),
        (lambda d: d["endpoints"][3].update(model="acme/ghost"), "endpoints.3.model"),
        (lambda d: d["endpoints"].append(dict(d["endpoints"][0])), "endpoints.5"),
        (lambda d: d["providers"][0].update(headquarters="Germany"), "providers.0.headquarters"),
        (lambda d: d["providers"][0]["policy"].update(regions="eu"), "providers.0.policy.regions"),
        (lambda d: d.update(extra=[]), "extra"),
    ],
)
def test_a_malformed_file_is_rejected_whole_with_the_path(db, tmp_path, mutate, path):
    broken = copy.deepcopy(SMALL_CATALOG)
    mutate(broken)
    with pytest.raises(CommandError, match=rf"^.*: {path.replace('.', r'\.')}: "):
        call_command("loadcatalog", _write(tmp_path, broken))
    assert not Provider.objects.exists() and not Endpoint.objects.exists()


def test_a_file_that_is_not_json_is_refused(db, tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text("{nope")
    with pytest.raises(CommandError, match="not JSON"):
        call_command("loadcatalog", path)


def test_approved_versions_are_immutable(small_catalog):
    from catalog.models import ImmutablePolicyVersion

    version = PolicyVersion.objects.current().get(provider__slug="safe-ai")
    version.training = "yes"
    with pytest.raises(ImmutablePolicyVersion):
        version.save()


def test_the_shipped_catalog_loads_and_meets_the_promised_breadth(db, capsys):
    call_command("seed_catalog")
    catalog = snapshot.get_catalog()
    providers = {e.provider for e in catalog.endpoints_for("anyapi/auto")}
    required = {
        "openai",
        "anthropic",
        "google-ai-studio",
        "google-vertex",
        "mistral",
        "cohere",
        "groq",
        "together",
        "fireworks",
        "deepseek",
        "xai",
        "amazon-bedrock",
        "azure",
        "perplexity",
        "deepinfra",
        "meta",
    }
    assert required <= providers and len(providers) >= 20
    assert len(catalog.endpoints_for("anyapi/auto")) >= 60


def test_the_shipped_catalog_registers_its_policy_pages_as_sources(db, capsys):
    from catalog.models import PolicySource

    call_command("seed_catalog")
    report = json.loads(capsys.readouterr().out)
    assert report["sources"] == PolicySource.objects.count() >= 26
    openai = PolicySource.objects.filter(provider__slug="openai").values_list("url", flat=True)
    assert any(url.startswith("https://") for url in openai)
    call_command("seed_catalog")
    assert json.loads(capsys.readouterr().out)["sources"] == 0


def test_the_shipped_catalog_backs_every_known_field_with_evidence(db):
    data = json.loads(Path("catalog/data/catalog.json").read_text())
    for provider in data["providers"]:
        policy = provider["policy"]
        assert policy.get("source_url", "").startswith("https://"), provider["slug"]
        assert policy.get("verified_at"), provider["slug"]
        for field in ("training", "retention", "safety_retention", "publishes_prompts"):
            if policy.get(field, "unknown") != "unknown":
                assert field in policy.get("evidence", {}), (provider["slug"], field)
