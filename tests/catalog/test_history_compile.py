"""The catalog as of an earlier version: what notifications compare against."""

from datetime import date

import pytest

from catalog.catalog_file import parse_catalog
from catalog.loader import Loader
from catalog.models import CatalogState, Endpoint, PolicyVersion
from catalog.policy import resolver
from catalog.policy.compile import compile_catalog, compile_catalog_at
from catalog.review.versions import approve, propose, reject

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(small_catalog):
    return small_catalog


def _endpoints(catalog: resolver.Catalog) -> dict[str, resolver.Endpoint]:
    return {e.id: e for e in catalog.endpoints_for(resolver.AUTO_MODEL)}


def _propose(provider, endpoint=None, **fields):
    current = PolicyVersion.objects.current().get(provider__slug=provider, endpoint=endpoint)
    content = {name: getattr(current, name) for name in PolicyVersion.CONTENT_FIELDS}
    return propose(current.provider, endpoint, {**content, **fields}, origin="manual")


def test_the_catalog_at_the_current_version_is_the_live_catalog(catalog):
    version = CatalogState.current_version()
    assert _endpoints(compile_catalog_at(version)) == _endpoints(compile_catalog())
    assert compile_catalog_at(version).version == version


def test_an_earlier_version_is_the_catalog_as_it_was_then(catalog, personas):
    before, then = CatalogState.current_version(), _endpoints(compile_catalog())
    approve(_propose("month-ai", retention="zero", retention_days=None), personas.reviewer, "ok")
    approve(_propose("safe-ai", training="unknown"), personas.reviewer, "ok")
    assert _endpoints(compile_catalog_at(before)) == then
    middle = _endpoints(compile_catalog_at(before + 1))
    assert middle["acme/chat@month-ai"].policy.retention == "zero"
    assert middle["acme/chat@safe-ai"].policy.training == "no"
    now = _endpoints(compile_catalog_at(before + 2))
    assert now == _endpoints(compile_catalog())
    assert now["acme/chat@safe-ai"].policy.training == "unknown"


def test_an_endpoint_override_keeps_overriding_its_provider_at_each_version(catalog, personas):
    before = CatalogState.current_version()
    tiny = Endpoint.objects.get(model__slug="acme/tiny", provider__slug="month-ai")
    approve(_propose("month-ai", retention="zero", retention_days=None), personas.reviewer, "ok")
    at = _endpoints(compile_catalog_at(before + 1))
    assert at["acme/tiny@month-ai"].policy.retention_days == 90  # its override still says so
    override = _propose("month-ai", endpoint=tiny, retention="zero", retention_days=None)
    approve(override, personas.reviewer, "ok")
    later = _endpoints(compile_catalog_at(before + 2))
    assert later["acme/tiny@month-ai"].policy.retention == "zero"
    again = _endpoints(compile_catalog_at(before + 1))
    assert again["acme/tiny@month-ai"].policy.retention_days == 90


def test_proposals_and_rejections_are_not_history(catalog, personas):
    version = CatalogState.current_version()
    live = _endpoints(compile_catalog())
    _propose("free-ai", training="no")
    reject(_propose("month-ai", training="yes"), personas.reviewer, "no such change")
    assert CatalogState.current_version() == version
    assert _endpoints(compile_catalog_at(version)) == live


def test_before_any_approval_every_policy_is_unknown(catalog):
    endpoints = _endpoints(compile_catalog_at(0))
    assert set(endpoints) == {
        "acme/chat@free-ai",
        "acme/chat@month-ai",
        "acme/chat@safe-ai",
        "acme/tiny@free-ai",
        "acme/tiny@month-ai",
    }
    safe = endpoints["acme/chat@safe-ai"].policy
    assert safe == resolver.Policy(headquarters="DE")
    today = date(2030, 1, 1)
    eligible = resolver.resolve(
        compile_catalog_at(0),
        resolver.AUTO_MODEL,
        resolver.merge([("account", resolver.Constraints(training_allowed=False))]),
        today,
    ).eligible
    assert eligible == ()  # unknown training counts as yes


def test_a_provider_that_joined_later_has_no_policy_before_it_joined(catalog, personas):
    before = CatalogState.current_version()
    Loader(approve_as=personas.reviewer).load(
        parse_catalog(
            {
                "providers": [
                    {
                        "slug": "new-ai",
                        "name": "New AI",
                        "headquarters": "FR",
                        "domains": ["new.example"],
                        "policy": {
                            "training": "no",
                            "retention": "zero",
                            "source_url": "https://new.example/privacy",
                            "evidence": {
                                "training": "We do not train on API data.",
                                "retention": "We keep nothing.",
                                "headquarters": "New AI SAS, Paris.",
                            },
                        },
                    }
                ],
                "models": [{"slug": "acme/chat", "name": "Acme Chat"}],
                "endpoints": [{"model": "acme/chat", "provider": "new-ai"}],
            }
        )
    )
    assert _endpoints(compile_catalog_at(before))["acme/chat@new-ai"].policy.training == "unknown"
    after = _endpoints(compile_catalog_at(CatalogState.current_version()))
    assert after["acme/chat@new-ai"].policy.retention == "zero"
