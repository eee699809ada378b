"""The catalog file format of PRODUCT.md §3, validated as a whole before anything is written."""

from datetime import date
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from catalog.policy.vocabulary import POLICY_FIELDS, Publishing, Retention, Safety, Training, values

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=60)]
MODEL_SLUG = r"^[a-z0-9][a-z0-9._:-]*(/[a-z0-9][a-z0-9._:-]*)?$"
ModelSlug = Annotated[str, StringConstraints(pattern=MODEL_SLUG, max_length=120)]
Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=40)]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=500)]
PolicyField = Literal[(*POLICY_FIELDS, "headquarters")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Evidence(Strict):
    passage: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    url: Url | None = None


class PolicyIn(Strict):
    training: Literal[values(Training)] | None = None
    retention: Literal[values(Retention)] | None = None
    retention_days: Annotated[int, Field(ge=1)] | None = None
    safety_retention: Literal[values(Safety)] | None = None
    publishes_prompts: Literal[values(Publishing)] | None = None
    certifications: list[Identifier] | None = None
    regions: list[Identifier] | None = None
    source_url: Url | None = None
    verified_by: str | None = None
    verified_at: date | None = Field(default=None, strict=False)
    review_due: date | None = Field(default=None, strict=False)
    evidence: dict[PolicyField, str | Evidence] = {}

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
        return {
            name: (
                {"passage": item, "url": self.source_url}
                if isinstance(item, str)
                else {"passage": item.passage, "url": item.url or self.source_url}
            )
            for name, item in sorted(self.evidence.items())
        }


class ProviderIn(Strict):
    slug: Slug
    name: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    headquarters: Country | None = None
    policy: PolicyIn = PolicyIn()


class ModelIn(Strict):
    slug: ModelSlug
    name: Annotated[str, StringConstraints(min_length=1, max_length=160)]


class EndpointIn(Strict):
    model: ModelSlug
    provider: Slug
    enabled: bool = True
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
        providers, models = {p.slug for p in self.providers}, {m.slug for m in self.models}
        for index, endpoint in enumerate(self.endpoints):
            if endpoint.model not in models:
                raise _located(f"endpoints.{index}.model", f"unknown model {endpoint.model!r}")
            if endpoint.provider not in providers:
                raise _located(
                    f"endpoints.{index}.provider", f"unknown provider {endpoint.provider!r}"
                )
        return self


class CatalogFileError(ValueError):
    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}" if path else message)
        self.path, self.message = path, message


def _located(path, message):
    return CatalogFileError(path, message)


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
