import subprocess
import sys
from datetime import date

import pytest

from catalog.catalog_file import PolicyIn
from catalog.models import PolicyFields, PolicyVersion
from catalog.policy import resolver, vocabulary
from catalog.policy.badges import policy_badges
from catalog.policy.vocabulary import (
    FLAG_TAGS,
    REASON_TEXT,
    Classification,
    ReasonCode,
    values,
)
from dashboard.models import Classification as StoredClassification
from dashboard.models import PrivacyDefaults


def test_vocabulary_and_resolver_import_no_django():
    code = (
        "import sys, catalog.policy.vocabulary, catalog.policy.resolver;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_classifications_rank_from_loosest_to_strictest():
    ranked = sorted(Classification, key=lambda c: c.rank)
    assert values(Classification) == ("public", "internal", "confidential", "regulated")
    assert ranked == list(Classification)


def test_every_reason_code_has_plain_words():
    assert set(REASON_TEXT) == set(ReasonCode)
    assert all(text and text == text.strip() for text in REASON_TEXT.values())


def test_every_tag_and_data_class_is_explained_in_words():
    assert set(vocabulary.TAG_TEXT) == set(vocabulary.Tag)
    assert set(vocabulary.CLASSIFICATION_TEXT) == set(Classification)


def test_every_flag_tag_parses_and_has_a_reason():
    for tag in FLAG_TAGS:
        assert resolver.parse_tag(tag) == tag
        assert vocabulary.TAG_REASONS[tag] in ReasonCode


@pytest.mark.parametrize(
    ("field", "choices"),
    [
        ("training", vocabulary.Training),
        ("retention", vocabulary.Retention),
        ("safety_retention", vocabulary.Safety),
        ("publishes_prompts", vocabulary.Publishing),
    ],
)
def test_model_choices_and_file_format_take_the_vocabulary_values(field, choices):
    stored = PolicyVersion._meta.get_field(field)
    assert [value for value, _ in stored.choices] == list(values(choices))
    assert vocabulary.CHOICE_FIELDS[field] is choices
    for value in values(choices):
        extra = {"retention_days": 7} if value == "days" else {}
        assert PolicyIn.model_validate({field: value, **extra}).fields()[field] == value
        resolver.Policy(**{field: value})


def test_stored_classification_choices_are_the_vocabulary_values():
    field = PrivacyDefaults._meta.get_field("classification")
    assert [value for value, _ in field.choices] == list(values(Classification))
    assert StoredClassification.REGULATED.label == "Regulated"


def test_policy_fields_are_the_models_and_labels_fields():
    assert PolicyVersion.FIELDS == vocabulary.POLICY_FIELDS == tuple(vocabulary.FIELD_LABELS)
    assert PolicyFields.Safety.FLAGGED_ONLY.label == "Flagged Only"


def test_resolver_reports_excluded_endpoints_with_vocabulary_codes():
    endpoint = resolver.Endpoint("m@p", "m", "p", resolver.Policy(training="yes"))
    catalog = resolver.Catalog(1, [endpoint])
    effective = resolver.merge([("request", resolver.Constraints(training_allowed=False))])
    resolution = resolver.resolve(catalog, "m", effective, date(2026, 1, 1))
    codes = {reason.code for excluded in resolution.excluded for reason in excluded.reasons}
    assert codes == {ReasonCode.TRAINS_ON_DATA}
    assert REASON_TEXT[next(iter(codes))] == "may train on the data"


def test_badges_are_named_by_column_and_iterate_in_page_order():
    policy = resolver.Policy(training="no", retention="zero", certifications=frozenset({"soc2"}))
    badges = policy_badges(policy, date(2026, 1, 1))

    assert (badges.training.label, badges.retention.label) == ("no training", "zero retention")
    assert badges.safety.label == "safety retention unknown"
    assert [b.label for b in badges.flags] == ["publishing unknown", "soc2", "stale"]
    assert [b.label for b in badges][:3] == ["no training", "zero retention", badges.safety.label]
    assert len(badges) == 6
