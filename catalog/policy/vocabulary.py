"""The policy vocabulary of PRODUCT.md §1–2: the one place its value sets are spelled.

Every value a data-policy field may take, the data classes, the `providers.require` tags, the
policy fields' names and labels, and the resolver's reason codes with their plain words. The
resolver, the models' choices, the pydantic schemas, the forms, the templates and the SQL all
derive from these. Pure: no Django import, so the resolver stays plain Python.
"""

from enum import StrEnum


def values(choices: type[StrEnum]) -> tuple[str, ...]:
    """The plain strings of a value set, for `Literal[values(Training)]`, forms and SQL."""
    return tuple(member.value for member in choices)


class Training(StrEnum):
    NO = "no"
    YES = "yes"
    UNKNOWN = "unknown"


class Retention(StrEnum):
    ZERO = "zero"
    DAYS = "days"
    INDEFINITE = "indefinite"
    UNKNOWN = "unknown"


class Safety(StrEnum):
    NONE = "none"
    FLAGGED_ONLY = "flagged_only"
    UNKNOWN = "unknown"


class Publishing(StrEnum):
    NO = "no"
    YES = "yes"
    UNKNOWN = "unknown"


class Basis(StrEnum):
    """What a field's evidence rests on: the provider's published text, or a contract AnyAPI
    holds (entered by the privacy team with its reference)."""

    PUBLIC = "public"
    AGREEMENT = "agreement"


class Classification(StrEnum):
    """Data classes, declared from the loosest to the strictest: the order is their rank."""

    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    REGULATED = "regulated"

    @property
    def rank(self) -> int:
        return _CLASSIFICATION_ORDER.index(self)


_CLASSIFICATION_ORDER = tuple(Classification)
# What each data class means, as the privacy settings explain their presets.
CLASSIFICATION_TEXT = {
    Classification.PUBLIC: "No constraint from the class: any endpoint the other settings allow.",
    Classification.INTERNAL: "Providers may not train on the data and may keep it at most 30 days.",
    Classification.CONFIDENTIAL: "No training and zero retention. Every resolution is recorded "
    "as a receipt. Content flagged for abuse review may still be kept: require "
    "no-safety-retention to forbid that too.",
    Classification.REGULATED: "Confidential, plus a verified policy and every certification the "
    "account requires. Every resolution is recorded as a receipt.",
}


class Tag(StrEnum):
    """The `providers.require` tags that take no value, in the order pages show them."""

    NO_TRAINING = "no-training"
    ZERO_RETENTION = "zero-retention"
    NO_SAFETY_RETENTION = "no-safety-retention"
    NO_PUBLISHING = "no-publishing"
    VERIFIED = "verified"


FLAG_TAGS = values(Tag)
TAG_TEXT = {
    Tag.NO_TRAINING: "The provider does not train on API data",
    Tag.ZERO_RETENTION: "Prompts and outputs are not kept at all",
    Tag.NO_SAFETY_RETENTION: "Nothing is kept even when abuse classifiers flag it",
    Tag.NO_PUBLISHING: "The provider never publishes prompts",
    Tag.VERIFIED: "The policy is not past its review date",
}
# Tags written `<prefix>:<value>`: cert:soc2, region:eu, hq:US.
TAG_PREFIXES = ("cert", "region", "hq")
TAG_SYNTAX = ", ".join((*FLAG_TAGS, "cert:<id>", "region:<code>", "hq:<country>"))


class ReasonCode(StrEnum):
    """Why the resolver excludes an endpoint (PRODUCT.md §2, `excluded[].reasons[].code`)."""

    TRAINS_ON_DATA = "trains_on_data"
    RETENTION_EXCEEDS_LIMIT = "retention_exceeds_limit"
    NOT_ZERO_RETENTION = "not_zero_retention"
    SAFETY_RETENTION = "safety_retention"
    PUBLISHES_PROMPTS = "publishes_prompts"
    MISSING_CERTIFICATION = "missing_certification"
    REGION_MISMATCH = "region_mismatch"
    HQ_MISMATCH = "hq_mismatch"
    POLICY_STALE = "policy_stale"
    PROVIDER_EXCLUDED = "provider_excluded"
    PROVIDER_NOT_ALLOWED = "provider_not_allowed"
    ENDPOINT_DISABLED = "endpoint_disabled"


# The reason an endpoint fails each tag with.
TAG_REASONS = {
    Tag.NO_TRAINING: ReasonCode.TRAINS_ON_DATA,
    Tag.ZERO_RETENTION: ReasonCode.NOT_ZERO_RETENTION,
    Tag.NO_SAFETY_RETENTION: ReasonCode.SAFETY_RETENTION,
    Tag.NO_PUBLISHING: ReasonCode.PUBLISHES_PROMPTS,
    Tag.VERIFIED: ReasonCode.POLICY_STALE,
    "cert": ReasonCode.MISSING_CERTIFICATION,
    "region": ReasonCode.REGION_MISMATCH,
    "hq": ReasonCode.HQ_MISMATCH,
}

REASON_TEXT = {
    ReasonCode.TRAINS_ON_DATA: "may train on the data",
    ReasonCode.RETENTION_EXCEEDS_LIMIT: "keeps data longer than allowed",
    ReasonCode.NOT_ZERO_RETENTION: "keeps data (zero retention required)",
    ReasonCode.SAFETY_RETENTION: "may keep content flagged for abuse review",
    ReasonCode.PUBLISHES_PROMPTS: "may publish prompts",
    ReasonCode.MISSING_CERTIFICATION: "lacks a required certification",
    ReasonCode.REGION_MISMATCH: "serves outside the required region",
    ReasonCode.HQ_MISMATCH: "headquartered outside the required country",
    ReasonCode.POLICY_STALE: "policy past its review date",
    ReasonCode.PROVIDER_EXCLUDED: "provider excluded",
    ReasonCode.PROVIDER_NOT_ALLOWED: "provider not in the allowed list",
    ReasonCode.ENDPOINT_DISABLED: "disabled in the catalog",
}

# The data-policy fields of PRODUCT.md §1, in the order pages and files list them.
FIELD_LABELS = {
    "training": "Training on API data",
    "retention": "Retention",
    "retention_days": "Retention days",
    "safety_retention": "Safety retention",
    "publishes_prompts": "Publishes prompts",
    "certifications": "Certifications",
    "regions": "Regions",
}
POLICY_FIELDS = tuple(FIELD_LABELS)
SET_FIELDS = ("certifications", "regions")
# Each field that takes one of a fixed set of values, with that set.
CHOICE_FIELDS = {
    "training": Training,
    "retention": Retention,
    "safety_retention": Safety,
    "publishes_prompts": Publishing,
}
