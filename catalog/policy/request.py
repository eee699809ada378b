"""What the resolver reads from a chat request (PRODUCT.md §2): its policy blocks mapped onto the
request layer's constraints, the models to try in order, the fields it accepted without using them
for eligibility (`ignored`) and what the answer should point out (`warnings`).

Plain Python with no Django import. A body is a whole chat request of up to 64 MiB (multimodal
`messages`), so `decode` reads it with msgspec into structs that declare only the policy fields:
everything else is skipped by the parser, never built into Python objects, never stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from catalog.policy import resolver
from catalog.policy.vocabulary import Classification, values

OPENROUTER_AUTO = "openrouter/auto"
# Variants that only change which endpoint is tried first (fastest, cheapest, best tool calls).
ROUTING_VARIANTS = frozenset({"nitro", "floor", "exacto"})
# Variants that send the request somewhere the catalog does not describe (a search provider).
DATA_VARIANTS = frozenset({"online"})
SEARCH_PLUGINS = frozenset({"web"})
MAX_MODELS = 32

ProviderName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=200,
        description="A provider: our slug, OpenRouter's slug or display name (any case), "
        "or an endpoint tag such as `deepinfra/turbo`.",
    ),
]
ProviderNames = list[ProviderName] | None
ModelSlug = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=200,
        description="A model slug, `anyapi/auto` (or `openrouter/auto`) for every model; "
        "the routing variants `:nitro`, `:floor` and `:exacto` name the base model.",
    ),
]
RoutingOnly = Annotated[
    Any, Meta(description="Accepted, not used for eligibility: the answer lists it in `ignored`.")
]


class DataPolicy(Struct, forbid_unknown_fields=True):
    """Our `data_policy` block. An unknown field here is refused: a misspelt limit must never
    pass silently as no limit."""

    training_allowed: bool | None = None
    retention_days: Annotated[int, Meta(ge=0)] | None = None


class Providers(Struct, forbid_unknown_fields=True):
    """Our `providers` block; an unknown field is refused, as in `data_policy`."""

    require: list[str] | None = None
    exclude: ProviderNames = None
    only: ProviderNames = None
    order: ProviderNames = None


class OpenRouterProvider(Struct):
    """OpenRouter's `provider` block: its privacy fields map onto ours, its routing knobs are
    accepted and listed in `ignored`, and so is any key not named here."""

    data_collection: Literal["allow", "deny"] | None = None
    zdr: bool | None = None
    only: ProviderNames = None
    ignore: ProviderNames = None
    order: ProviderNames = None
    allow_fallbacks: bool | None = None
    require_parameters: RoutingOnly = None
    quantizations: RoutingOnly = None
    sort: RoutingOnly = None
    max_price: RoutingOnly = None
    preferred_min_throughput: RoutingOnly = None
    preferred_max_latency: RoutingOnly = None
    enforce_distillable_text: RoutingOnly = None


ROUTING_ONLY_FIELDS = (
    "require_parameters",
    "quantizations",
    "sort",
    "max_price",
    "preferred_min_throughput",
    "preferred_max_latency",
    "enforce_distillable_text",
)


class _ProviderKeys(Struct):
    """Only the key names of OpenRouter's `provider` block (values are skipped, not decoded)."""

    provider: dict[str, msgspec.Raw] | None = None


class Plugin(Struct):
    id: str | None = None


class ChatRequest(Struct):
    """The fields of a chat request that resolve reads; all others (`messages`, `tools`, …) are
    skipped by the decoder."""

    model: ModelSlug | None = None
    models: Annotated[list[ModelSlug], Meta(max_length=MAX_MODELS)] | None = None
    classification: Literal[values(Classification)] | None = None
    data_policy: DataPolicy | None = None
    providers: Providers | None = None
    provider: OpenRouterProvider | None = None
    route: RoutingOnly = None
    plugins: list[Plugin] | None = None


class RequestError(ValueError):
    """A malformed request: `field` is the path of the offending field (`providers.require.1`)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class Notice:
    code: str  # unknown_provider, unknown_model
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"code": self.code, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class MappedRequest:
    constraints: resolver.Constraints
    models: tuple[str, ...]  # to try in order; the answer is for the first with an eligible one
    ignored: tuple[str, ...]  # field paths accepted and not used for eligibility
    warnings: tuple[Notice, ...]


# --- Decoding -----------------------------------------------------------------------------------

_DECODER = msgspec.json.Decoder(ChatRequest)
_PROVIDER_KEYS = msgspec.json.Decoder(_ProviderKeys)
_AT_PATH = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_UNKNOWN_FIELD = re.compile(r"Object contains unknown field `(?P<name>[^`]+)`")


def decode(body: bytes) -> ChatRequest:
    """The policy fields of a JSON body; RequestError names the first malformed one."""
    try:
        return _DECODER.decode(body)
    except msgspec.ValidationError as exc:
        raise _request_error(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise RequestError("body", f"not a JSON object ({exc})") from None


def convert(body: object) -> ChatRequest:
    """`decode` for a body that is already Python objects (the playground's pasted JSON)."""
    try:
        return msgspec.convert(body, ChatRequest)
    except msgspec.ValidationError as exc:
        raise _request_error(str(exc)) from None


def unknown_provider_fields(body: bytes | object) -> tuple[str, ...]:
    """The keys of the body's `provider` block this service does not know, so the answer can
    list them in `ignored` rather than skip them silently. (The decoder above skips unknown keys
    there: OpenRouter adds routing knobs over time, and a new one must not be a 400.)"""
    if isinstance(body, bytes):
        block = _PROVIDER_KEYS.decode(body).provider
    else:
        block = body.get("provider") if isinstance(body, dict) else None
    if not isinstance(block, dict):
        return ()
    return tuple(
        f"provider.{key}" for key in block if key not in OpenRouterProvider.__struct_fields__
    )


def _request_error(text: str) -> RequestError:
    match = _AT_PATH.match(text)
    message, path = match["message"], _dotted(match["path"] or "")
    if unknown := _UNKNOWN_FIELD.match(message):
        path = ".".join(filter(None, (path, unknown["name"])))
        message = "unknown field; " + _known_fields_hint(path)
    if not path:
        message = message.replace("Expected `object`", "Expected a JSON object")
    return RequestError(path or "body", message)


def _dotted(path: str) -> str:
    """msgspec's `.providers.require[1]` as the API's `providers.require.1`."""
    return re.sub(r"\[(\d+)\]", r".\1", path).lstrip(".")


def _known_fields_hint(path: str) -> str:
    block = {"data_policy": DataPolicy, "providers": Providers}.get(path.partition(".")[0])
    return f"known: {', '.join(block.__struct_fields__)}" if block else "not a known field"


# --- Mapping ------------------------------------------------------------------------------------


def map_request(
    request: ChatRequest,
    models: frozenset[str],
    named: Callable[[str], str | None],
    unknown_fields: tuple[str, ...] = (),
) -> MappedRequest:
    """The request layer and what to tell the caller, given the catalog's models and its
    provider names (`named(name)` -> slug or None), and the body's `unknown_provider_fields`;
    RequestError for what must be refused."""
    _refuse_search_plugins(request.plugins)
    warnings: list[Notice] = []
    candidates = _models(request, models, warnings)
    constraints = _constraints(request, named, warnings)
    ignored = _ignored(request) + unknown_fields
    return MappedRequest(constraints, candidates, ignored, tuple(warnings))


def _refuse_search_plugins(plugins: list[Plugin] | None) -> None:
    for index, plugin in enumerate(plugins or ()):
        if plugin.id in SEARCH_PLUGINS:
            raise RequestError(f"plugins.{index}.id", _SEARCH_REFUSAL)


_SEARCH_REFUSAL = (
    "web search sends the request to a search provider, and the catalog does not describe "
    "search providers' data policies yet"
)


def _models(request: ChatRequest, known: frozenset[str], warnings: list[Notice]) -> tuple:
    named = [] if request.model is None else [("model", request.model)]
    named += [(f"models.{i}", model) for i, model in enumerate(request.models or ())]
    if not named:
        raise RequestError("model", "required: a model slug, anyapi/auto, or a `models` list")
    models: dict[str, str] = {}
    for field, name in named:
        models.setdefault(canonical_model(name, known, field), field)
    if len(models) > 1:
        warnings += [
            Notice("unknown_model", field, f"{model!r} is not in the catalog; skipped")
            for model, field in models.items()
            if model not in known and model != resolver.AUTO_MODEL
        ]
    return tuple(models)


def canonical_model(name: str, known: frozenset[str], field: str = "model") -> str:
    """The catalog model a name means: itself if the catalog has it, else its base model when the
    suffix is a routing variant; `openrouter/auto` is `anyapi/auto`."""
    if name in known:
        return name
    base, colon, variant = name.rpartition(":")
    if colon and variant in DATA_VARIANTS:
        raise RequestError(field, f"the :{variant} variant is refused: {_SEARCH_REFUSAL}")
    if colon and variant in ROUTING_VARIANTS:
        name = base
    return resolver.AUTO_MODEL if name == OPENROUTER_AUTO else name


def _constraints(
    request: ChatRequest, named: Callable[[str], str | None], warnings: list[Notice]
) -> resolver.Constraints:
    data = request.data_policy or DataPolicy()
    ours = request.providers or Providers()
    theirs = request.provider or OpenRouterProvider()
    names = _NameResolver(named, warnings)
    allowlists = [
        names.allowlist(ours.only, "providers.only"),
        names.allowlist(theirs.only, "provider.only"),
    ]
    if theirs.allow_fallbacks is False and theirs.order:
        # No fallbacks: the listed providers are the only ones that may serve (OpenRouter's
        # allow_fallbacks), so the order becomes an allowlist as well as a preference.
        allowlists.append(names.allowlist(theirs.order, "provider.order", warn=False))
    return resolver.Constraints(
        training_allowed=data.training_allowed,
        retention_days=data.retention_days,
        require=_required_tags(ours.require, theirs),
        exclude=names.denylist(ours.exclude, "providers.exclude")
        | names.denylist(theirs.ignore, "provider.ignore"),
        only=_intersection(allowlists),
        order=names.preference((ours.order, "providers.order"), (theirs.order, "provider.order")),
        classification=request.classification,
    )


def _required_tags(require: list[str] | None, theirs: OpenRouterProvider) -> frozenset[str]:
    tags = {_tag(tag, f"providers.require.{i}") for i, tag in enumerate(require or ())}
    if theirs.data_collection == "deny":
        tags.add("no-training")
    if theirs.zdr:
        tags.add("zero-retention")
    return frozenset(tags)


def _tag(tag: str, field: str) -> str:
    try:
        return resolver.parse_tag(tag)
    except resolver.InvalidTag as exc:
        raise RequestError(field, exc.explained()) from None


def _intersection(allowlists: Iterable[frozenset[str] | None]) -> frozenset[str] | None:
    given = [allowed for allowed in allowlists if allowed is not None]
    return frozenset.intersection(*given) if given else None


class _NameResolver:
    """Provider names as clients write them, resolved to slugs through the catalog; a name that
    names no provider is kept as written (so it matches nothing) and reported."""

    def __init__(self, named: Callable[[str], str | None], warnings: list[Notice]):
        self.named, self.warnings = named, warnings

    def slugs(self, names: Sequence[str] | None, field: str, warn=True) -> list[tuple[str, bool]]:
        resolved = []
        for index, name in enumerate(names or ()):
            slug = self.named(name)
            if slug is None and warn:
                message = f"{name!r} names no provider in the catalog"
                self.warnings.append(Notice("unknown_provider", f"{field}.{index}", message))
            resolved.append((slug or name.casefold(), slug is not None))
        return resolved

    def denylist(self, names: Sequence[str] | None, field: str) -> frozenset[str]:
        return frozenset(slug for slug, _ in self.slugs(names, field))

    def allowlist(self, names: Sequence[str] | None, field: str, warn=True):
        """None (no allowlist) for a missing or empty list: serializers send `[]` by default."""
        if not names:
            return None
        return frozenset(slug for slug, _ in self.slugs(names, field, warn))

    def preference(self, *lists: tuple[Sequence[str] | None, str]) -> tuple[str, ...]:
        order: dict[str, None] = {}
        for names, field in lists:
            order.update((slug, None) for slug, known in self.slugs(names, field) if known)
        return tuple(order)


def _ignored(request: ChatRequest) -> tuple[str, ...]:
    ignored = ["route"] if request.route is not None else []
    theirs = request.provider
    if theirs is not None:
        ignored += [f"provider.{f}" for f in ROUTING_ONLY_FIELDS if getattr(theirs, f) is not None]
        if theirs.allow_fallbacks is not None and not theirs.order:
            ignored.append("provider.allow_fallbacks")  # it qualifies `order`, and there is none
    ignored += [
        f"plugins.{i}" for i, plugin in enumerate(request.plugins or ()) if plugin.id is not None
    ]
    return tuple(ignored)


# --- Provider names -----------------------------------------------------------------------------


def name_key(name: str) -> str:
    """A provider name as compared: case-folded, with hyphens, underscores and runs of spaces
    alike, so `Amazon Bedrock`, `amazon-bedrock` and `AMAZON_BEDROCK` are one name."""
    return " ".join(filter(None, re.split(r"[\s_-]+", name.casefold())))


def provider_named(names: Mapping[str, str], name: str) -> str | None:
    """The slug `name` names in `names` (name_key -> slug): a slug, display name, alias or
    endpoint tag, or failing that a tag of a known provider (`deepinfra/fp8` names deepinfra)."""
    key = name_key(name)
    if key in names:
        return names[key]
    provider, slash, _variant = key.partition("/")
    return names.get(provider) if slash else None


# --- Choosing among the models ------------------------------------------------------------------


def first_eligible(
    models: Sequence[str], resolve_one: Callable[[str], resolver.Resolution]
) -> resolver.Resolution:
    """The resolution of the first model with an eligible endpoint; when none has one, that of
    the first model the catalog knows. UnknownModel (of the first) when it knows none."""
    fallback = None
    for model in models:
        try:
            resolution = resolve_one(model)
        except resolver.UnknownModel:
            continue
        if resolution.eligible:
            return resolution
        fallback = fallback or resolution
    if fallback is None:
        raise resolver.UnknownModel(models[0])
    return fallback


def resolve_first(
    catalog: resolver.Catalog, layers: Sequence, mapped: MappedRequest, today
) -> resolver.Resolution:
    """`first_eligible` of the request's models under `layers` and the request's own layer."""
    effective = resolver.merge_cached((*layers, ("request", mapped.constraints)))
    return first_eligible(
        mapped.models, lambda model: resolver.resolve_cached(catalog, model, effective, today)
    )
