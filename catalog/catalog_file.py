"""The catalog file format of PRODUCT.md §3, validated as a whole before anything is written."""

from datetime import date
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from catalog import evidence
from catalog.policy import vocabulary
from catalog.policy.vocabulary import (
    POLICY_FIELDS,
    Basis,
    Publishing,
    Retention,
    Safety,
    Training,
    values,
)

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=60)]
MODEL_SLUG = r"^[a-z0-9][a-z0-9._:-]*(/[a-z0-9][a-z0-9._:-]*)?$"
ModelSlug = Annotated[str, StringConstraints(pattern=MODEL_SLUG, max_length=120)]
# The vocabulary's value sets as pydantic types, for every schema that takes them.
Region = Annotated[str, StringConstraints(max_length=40), AfterValidator(vocabulary.region)]
Country = Annotated[str, StringConstraints(max_length=40), AfterValidator(vocabulary.country)]
Certification = Annotated[
    str, StringConstraints(max_length=40), AfterValidator(vocabulary.certification)
]
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=500)]
PolicyField = Literal[(*POLICY_FIELDS, "headquarters")]
# A note says why a field is unknown (or what a value leaves out); "general": the whole policy.
NoteKey = Literal[(*POLICY_FIELDS, "headquarters", "general")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


Quote = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Words = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
Domain = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$"),
]
Alias = Annotated[str, StringConstraints(min_length=1, max_length=120)]
# An OpenRouter endpoint tag: `<provider>/<variant>`, e.g. `deepinfra/turbo`.
EndpointTag = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._:-]*$", max_length=120)
]


class Corroboration(Strict):
    """A third-party page that agrees with the value: shown as such, never carries it."""

    url: Url
    note: Words


class Evidence(Strict):
    """A field's evidence object; the older `passage`/`url` are read as `quote`/`source_url`."""

    quote: Quote
    source_url: Url | None = None
    captured_at: date | None = Field(default=None, strict=False)
    basis: Literal[values(Basis)] = Basis.PUBLIC.value
    reference: Words | None = None
    condition: Words | None = None
    corroboration: list[Corroboration] = []

    @model_validator(mode="before")
    @classmethod
    def older_spelling(cls, data):
        if isinstance(data, str):  # a bare quote: its page is the policy's source_url
            return {"quote": data}
        if isinstance(data, dict) and ("passage" in data or "url" in data):
            data = dict(data)
            for old, new in (("passage", "quote"), ("url", "source_url")):
                if old in data:
                    if new in data:
                        raise ValueError(f"give {new!r} or the older {old!r}, not both")
                    data[new] = data.pop(old)
        return data

    @model_validator(mode="after")
    def reference_only_by_agreement(self):
        if self.reference is not None and self.basis != Basis.AGREEMENT:
            raise ValueError("a contract reference goes with basis 'agreement'")
        return self


class PolicyIn(Strict):
    training: Literal[values(Training)] | None = None
    retention: Literal[values(Retention)] | None = None
    retention_days: Annotated[int, Field(ge=1)] | None = None
    safety_retention: Literal[values(Safety)] | None = None
    publishes_prompts: Literal[values(Publishing)] | None = None
    certifications: list[Certification] | None = None
    regions: list[Region] | None = None
    source_url: Url | None = None
    verified_by: str | None = None
    verified_at: date | None = Field(default=None, strict=False)
    review_due: date | None = Field(default=None, strict=False)
    evidence: dict[PolicyField, Evidence] = {}
    notes: dict[NoteKey, Words] = {}

    @model_validator(mode="after")
    def days_go_with_days(self):
        if self.retention_days is not None and self.retention != Retention.DAYS:
            raise ValueError("retention_days is only allowed with retention 'days'")
        if self.retention == Retention.DAYS and self.retention_days is None:
            raise ValueError("retention 'days' needs retention_days")
        return self

    def is_empty(self) -> bool:
        return not self.model_dump(exclude_defaults=True)

    def fields(self) -> dict:
        """The policy fields this level gives, sets as sorted lists."""
        given = self.model_dump(include=set(POLICY_FIELDS), exclude_none=True)
        for name in ("certifications", "regions"):
            if name in given:
                given[name] = sorted(set(given[name]))
        return given

    def evidence_dict(self) -> dict:
        """Every field's evidence in the one stored shape (catalog.evidence.normalise)."""
        return {
            name: evidence.normalise(
                item.model_dump(exclude_none=True), self.source_url, self.verified_at
            )
            for name, item in sorted(self.evidence.items())
        }


class ProviderIn(Strict):
    slug: Slug
    name: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    aliases: list[Alias] = []
    headquarters: Country | None = None
    domains: list[Domain] = []
    policy: PolicyIn = PolicyIn()

    def names(self) -> list[str]:
        """What the provider may be called by, lower-cased: slug, display name and aliases."""
        return list(dict.fromkeys(n.lower() for n in (self.slug, self.name, *self.aliases)))


class ModelIn(Strict):
    slug: ModelSlug
    name: Annotated[str, StringConstraints(min_length=1, max_length=160)]
    retired: bool = False


class EndpointIn(Strict):
    model: ModelSlug
    provider: Slug
    enabled: bool = True
    tags: list[EndpointTag] = []
    policy: PolicyIn | None = None

    @property
    def endpoint_id(self) -> str:
        return f"{self.model}@{self.provider}"


class CatalogFile(Strict):
    providers: list[ProviderIn] = []
    models: list[ModelIn] = []
    endpoints: list[EndpointIn] = []

    @model_validator(mode="after")
    def references_resolve(self):
        _unique("providers", [p.slug for p in self.providers])
        _unique("models", [m.slug for m in self.models])
        _unique("endpoints", [e.endpoint_id for e in self.endpoints])
        _names_unique(self.providers)
        providers, models = {p.slug: p for p in self.providers}, {m.slug for m in self.models}
        for index, endpoint in enumerate(self.endpoints):
            if endpoint.model not in models:
                raise _located(f"endpoints.{index}.model", f"unknown model {endpoint.model!r}")
            if endpoint.provider not in providers:
                raise _located(
                    f"endpoints.{index}.provider", f"unknown provider {endpoint.provider!r}"
                )
            _tags_name_their_provider(index, endpoint, providers[endpoint.provider])
        for index, provider in enumerate(self.providers):
            _evidence_holds(f"providers.{index}.policy", provider.policy, provider, "provider")
        for index, endpoint in enumerate(self.endpoints):
            if endpoint.policy is not None:
                provider = providers[endpoint.provider]
                _evidence_holds(f"endpoints.{index}.policy", endpoint.policy, provider, "endpoint")
        return self


class CatalogFileError(ValueError):
    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}" if path else message)
        self.path, self.message = path, message


def _located(path, message):
    return CatalogFileError(path, message)


def _names_unique(providers):
    """A name (slug, display name or alias) means one provider, whatever its case."""
    owner = {}
    for index, provider in enumerate(providers):
        for name in provider.names():
            if owner.setdefault(name, provider.slug) != provider.slug:
                raise _located(
                    f"providers.{index}.aliases",
                    f"{name!r} already names provider {owner[name]!r}",
                )


def _tags_name_their_provider(index, endpoint, provider):
    for position, tag in enumerate(endpoint.tags):
        if tag.partition("/")[0] not in provider.names():
            raise _located(
                f"endpoints.{index}.tags.{position}",
                f"tag {tag!r} does not start with a name of provider {provider.slug!r}",
            )


def _evidence_holds(path, policy, provider, level):
    """A value other than unknown is quoted from the provider's own domains (PRODUCT.md §1)."""
    values = policy.fields()
    if level == "provider" and provider.headquarters:
        values["headquarters"] = provider.headquarters
    found = evidence.problems(values, policy.evidence_dict(), provider.domains, level=level)
    if found:
        where, message = found[0]
        raise _located(f"{path}.evidence.{where}", message)


def _unique(section, keys):
    seen = set()
    for index, key in enumerate(keys):
        if key in seen:
            raise _located(f"{section}.{index}", f"duplicate {key!r}")
        seen.add(key)


def parse_catalog(data) -> CatalogFile:
    """Validate a decoded catalog file; raise CatalogFileError naming the first bad path."""
    try:
        return CatalogFile.model_validate(data)
    except CatalogFileError:
        raise
    except ValidationError as exc:
        first = exc.errors()[0]
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, CatalogFileError):
            raise cause from None
        path = ".".join(str(part) for part in first["loc"])
        raise CatalogFileError(path, first["msg"]) from None
