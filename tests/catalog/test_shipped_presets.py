"""The shipped catalog leaves something to route to under every data class of PRODUCT.md §2, so
a new account that picks a preset is never left with nothing (issue 14)."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog.policy import resolver, snapshot
from catalog.policy.vocabulary import Classification, values
from dashboard.demo import DEMO_REGULATED_CERTIFICATIONS


@pytest.fixture
def shipped(db):
    call_command("seed_catalog", verbosity=0)
    snapshot.forget()
    return snapshot.get_catalog()


def _eligible(catalog, **account) -> int:
    layers = [("account", resolver.Constraints(**account))]
    resolution = resolver.resolve(
        catalog, resolver.AUTO_MODEL, resolver.merge(layers), timezone.now().date()
    )
    return len(resolution.eligible)


@pytest.mark.parametrize("classification", values(Classification))
def test_the_shipped_catalog_leaves_an_endpoint_under_each_preset(shipped, classification):
    assert _eligible(shipped, classification=classification) >= 1


def test_regulated_with_the_demos_certifications_leaves_an_endpoint(shipped):
    certifications = frozenset(DEMO_REGULATED_CERTIFICATIONS)
    eligible = _eligible(
        shipped, classification="regulated", regulated_certifications=certifications
    )
    assert eligible >= 1


def test_each_stricter_preset_leaves_no_more_than_the_one_before(shipped):
    counts = [_eligible(shipped, classification=c) for c in values(Classification)]
    assert counts == sorted(counts, reverse=True)
