"""Request and response shapes of the catalog API (PRODUCT.md §2–3), validated by pydantic.

Unknown fields of a chat request (`messages`, `temperature`, `tools`, …) are ignored: they are
never read, stored or logged.
"""

from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, StrictBool, StringConstraints

from catalog.policy import resolver, vocabulary
from catalog.policy.vocabulary import TAG_SYNTAX, values


def _tag(value: str) -> str:
    try:
        return resolver.parse_tag(value)
    except resolver.InvalidTag:
        raise ValueError(f"unknown tag {value!r}; tags are {TAG_SYNTAX}") from None


Tag = Annotated[str, AfterValidator(_tag)]
ProviderSlug = Annotated[str, StringConstraints(min_length=1, max_length=60, to_lower=True)]
ModelSlug = Annotated[str, StringConstraints(min_length=1, max_length=120)]
Classification = Literal[values(vocabulary.Classification)]
Days = Annotated[int, Field(ge=0, strict=True)]


class IgnoringExtras(Schema):
    model_config = ConfigDict(extra="ignore")


class DataPolicyIn(IgnoringExtras):
    training_allowed: StrictBool | None = None
    retention_days: Days | None = None


class ProvidersIn(IgnoringExtras):
    require: list[Tag] = []
    exclude: list[ProviderSlug] = []
    only: list[ProviderSlug] | None = None
    order: list[ProviderSlug] = []


class OpenRouterProviderIn(IgnoringExtras):
    """OpenRouter's `provider` block, mapped onto ours; its routing knobs are ignored."""

    data_collection: Literal["allow", "deny"] | None = None
    zdr: StrictBool | None = None
    only: list[ProviderSlug] | None = None
    ignore: list[ProviderSlug] = []
    order: list[ProviderSlug] = []


class PolicyRequest(IgnoringExtras):
    """The privacy blocks of a gateway request; shared by resolve and the playground."""

    classification: Classification | None = None
    data_policy: DataPolicyIn | None = None
    providers: ProvidersIn | None = None
    provider: OpenRouterProviderIn | None = None

    def constraints(self) -> resolver.Constraints:
        data = self.data_policy or DataPolicyIn()
        ours = self.providers or ProvidersIn()
        theirs = self.provider or OpenRouterProviderIn()
        require = set(ours.require)
        if theirs.data_collection == "deny":
            require.add("no-training")
        if theirs.zdr:
            require.add("zero-retention")
        return resolver.Constraints(
            training_allowed=data.training_allowed,
            retention_days=data.retention_days,
            require=frozenset(require),
            exclude=frozenset(ours.exclude) | frozenset(theirs.ignore),
            only=_intersect_only(ours.only, theirs.only),
            order=tuple(ours.order or theirs.order),
            classification=self.classification,
        )


def _intersect_only(ours, theirs):
    given = [frozenset(only) for only in (ours, theirs) if only is not None]
    return frozenset.intersection(*given) if given else None


class ResolveIn(PolicyRequest):
    model: ModelSlug


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


class ResolveOut(Schema):
    model: str
    catalog_version: int
    effective_policy: EffectivePolicyOut
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


class NoEligibleResponse(Schema):
    error: NoEligibleBody
