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


# --- Where data goes: regions, countries, certifications --------------------------------------
# One vocabulary for forms, the API, the catalog file and review (issue 14): a value outside
# these is refused with what is accepted, never stored or silently matched against nothing.

# Region codes of PRODUCT.md §1 (`us`, `eu`, `uk`, `apac`, …): where inference and storage happen.
REGIONS = {
    "us": "United States",
    "ca": "Canada",
    "latam": "Latin America",
    "br": "Brazil",
    "eu": "European Union",
    "uk": "United Kingdom",
    "ch": "Switzerland",
    "me": "Middle East",
    "af": "Africa",
    "apac": "Asia-Pacific",
    "in": "India",
    "cn": "China",
    "jp": "Japan",
    "kr": "South Korea",
    "sg": "Singapore",
    "au": "Australia",
}

# ISO 3166-1 alpha-2, every officially assigned code (headquarters, `hq:` tags).
# fmt: off
COUNTRIES = frozenset((
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
))
# fmt: on

# Certification ids of PRODUCT.md §1 (`soc2`, `iso27001`, …) and the other attestations
# providers' trust centres name.
CERTIFICATIONS = {
    "soc1": "SOC 1",
    "soc2": "SOC 2",
    "soc3": "SOC 3",
    "iso9001": "ISO 9001",
    "iso27001": "ISO/IEC 27001",
    "iso27017": "ISO/IEC 27017",
    "iso27018": "ISO/IEC 27018",
    "iso27701": "ISO/IEC 27701",
    "iso42001": "ISO/IEC 42001",
    "hipaa": "HIPAA (BAA available)",
    "hitrust": "HITRUST",
    "gdpr-dpa": "GDPR data processing agreement",
    "pci-dss": "PCI DSS",
    "fedramp-moderate": "FedRAMP Moderate",
    "fedramp-high": "FedRAMP High",
    "csa-star": "CSA STAR",
    "c5": "BSI C5",
    "tisax": "TISAX",
    "irap": "IRAP",
    "ismap": "ISMAP",
    "cyber-essentials": "Cyber Essentials",
}


class UnknownValue(ValueError):
    """A region, country or certification outside the vocabulary; says what is accepted."""


def region(code: str) -> str:
    value = code.strip().lower()
    if value not in REGIONS:
        raise UnknownValue(f"{code!r} is not a region code; use one of {', '.join(REGIONS)}")
    return value


def country(code: str) -> str:
    value = code.strip().upper()
    if value not in COUNTRIES:
        raise UnknownValue(
            f"{code!r} is not an ISO 3166 country code (two letters, such as US, DE, FR)"
        )
    return value


def certification(cert_id: str) -> str:
    value = cert_id.strip().lower()
    if value not in CERTIFICATIONS:
        raise UnknownValue(
            f"{cert_id!r} is not a certification id; use one of {', '.join(CERTIFICATIONS)}"
        )
    return value
