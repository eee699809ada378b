"""Response shapes of the catalog API (PRODUCT.md §3) and the vocabulary types of the
configuration API, validated by pydantic. Resolve's request body is `catalog.policy.request`'s:
decoded by msgspec, which reads only the policy fields of a chat request."""

from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from catalog.policy import resolver, vocabulary
from catalog.policy.vocabulary import values


def _tag(value: str) -> str:
    try:
        return resolver.parse_tag(value)
    except resolver.InvalidTag as exc:
        raise ValueError(exc.explained()) from None


Tag = Annotated[str, AfterValidator(_tag)]
ProviderSlug = Annotated[str, StringConstraints(min_length=1, max_length=60, to_lower=True)]
Classification = Literal[values(vocabulary.Classification)]
Days = Annotated[int, Field(ge=0, strict=True)]


class CorroborationOut(Schema):
    url: str = Field(description="a third-party page; it corroborates, never carries the value")
    note: str


class EvidenceOut(Schema):
    quote: str = Field(description="the provider's own sentence, verbatim")
    source_url: str | None = Field(
        description="the page the quote is on, on the provider's own domains (null for an "
        "agreement without a public page)"
    )
    captured_at: str | None = Field(description="when that page said it (ISO date)")
    basis: Literal[values(vocabulary.Basis)] = Field(
        description="public: published by the provider; agreement: a contract AnyAPI holds"
    )
    reference: str | None = Field(description="the contract's reference, with basis agreement")
    condition: str | None = Field(
        description="the condition of a conditional promise, and why it holds here, in plain words"
    )
    corroboration: list[CorroborationOut]


class PolicyOut(Schema):
    training: str
    retention: str
    retention_days: int | None
    safety_retention: str
    publishes_prompts: str
    certifications: list[str]
    regions: list[str]
    headquarters: str | None
    verified_at: str | None
    review_due: str | None
    stale: bool
    evidence: dict[str, EvidenceOut] = Field(
        description="for every field that is not unknown (retention_days under retention)"
    )
    notes: dict[str, str] = Field(description="field -> why it is unknown, in plain words")


class EndpointOut(Schema):
    endpoint: str
    provider: str
    model: str
    policy: PolicyOut


class ReasonOut(Schema):
    code: str
    constraint: str
    source: str


class ExcludedOut(Schema):
    endpoint: str
    provider: str
    reasons: list[ReasonOut]


class EffectivePolicyOut(Schema):
    model_config = ConfigDict(extra="allow")
    training_allowed: bool
    retention_days: int | None
    require: list[str]
    exclude: list[str]
    only: list[str] | None
    order: list[str]
    classification: str
    sources: dict[str, str]


class NoticeOut(Schema):
    code: Literal["unknown_provider", "unknown_model"]
    field: str = Field(description="The request field the notice is about (`provider.only.0`).")
    message: str


class ResolveOut(Schema):
    model: str = Field(
        description="The model resolved: the first of `model`, `models` with an "
        "eligible endpoint, routing variants removed."
    )
    catalog_version: int
    effective_policy: EffectivePolicyOut
    ignored: list[str] = Field(
        description="Field paths the request carried that were accepted and not used for "
        "eligibility (routing-only fields such as `provider.sort`)."
    )
    warnings: list[NoticeOut] = Field(
        description="Names that matched nothing in the catalog (providers, fallback models)."
    )
    eligible: list[EndpointOut]
    excluded: list[ExcludedOut]


class EndpointListOut(Schema):
    catalog_version: int
    endpoints: list[EndpointOut]


class ProviderOut(Schema):
    slug: str
    name: str
    aliases: list[str] = Field(description="other names: OpenRouter's slug and display names")
    headquarters: str | None
    policy: PolicyOut = Field(description="the provider's default policy, before any override")
    endpoints: int = Field(description="how many endpoints the provider serves in the catalog")


class ProviderListOut(Schema):
    catalog_version: int
    providers: list[ProviderOut]


class RelaxationOut(Schema):
    constraints: list[str]
    description: str
    unlocks: list[str]


class NoEligibleBody(Schema):
    code: Literal["no_eligible_endpoint"]
    message: str
    constraints: list[str]
    relaxations: list[RelaxationOut]
    excluded: list[ExcludedOut]
    ignored: list[str]
    warnings: list[NoticeOut]


class NoEligibleResponse(Schema):
    error: NoEligibleBody
