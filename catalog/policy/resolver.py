"""Routing eligibility: which endpoints may see a request under the layered data policy.

Pure domain logic with no Django import. The gateway calls `resolve` on every request, so a
`Catalog` compiles each endpoint's policy once into the tags it satisfies and the most days it may
keep data; resolving is then set lookups over the distinct (policy, provider, enabled) profiles,
of which a real catalog has far fewer than endpoints.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date
from enum import StrEnum
from functools import cached_property, lru_cache
from typing import NamedTuple

from catalog.policy import vocabulary
from catalog.policy.vocabulary import (
    FLAG_TAGS,
    TAG_PREFIXES,
    TAG_REASONS,
    Classification,
    Publishing,
    ReasonCode,
    Retention,
    Safety,
    Tag,
    Training,
)

# Resolutions under these classes leave a receipt: the seed's "audit everything".
RECEIPT_CLASSIFICATIONS = frozenset({Classification.CONFIDENTIAL, Classification.REGULATED})

AUTO_MODEL = "anyapi/auto"

INTERNAL_RETENTION_DAYS = 30

_FLAG_REASON_CODES = {tag: TAG_REASONS[tag] for tag in FLAG_TAGS}
_PREFIX_REASON_CODES = {prefix: TAG_REASONS[prefix] for prefix in TAG_PREFIXES}
# The order missing tags are reported in; a stale policy is reported last, on its own.
_TAG_ORDER = (*(tag for tag in FLAG_TAGS if tag != Tag.VERIFIED), *TAG_PREFIXES)
_TAG_VALUES = {
    "hq": vocabulary.country,
    "region": vocabulary.region,
    "cert": vocabulary.certification,
}


class UnknownModel(LookupError):
    def __init__(self, model: str):
        super().__init__(f"unknown model: {model}")
        self.model = model


class InvalidTag(ValueError):
    def __init__(self, tag: object, reason: str = ""):
        super().__init__(f"invalid tag: {tag!r}" + (f" ({reason})" if reason else ""))
        self.tag = tag
        self.reason = reason  # what is wrong with the value, when the prefix is right

    def explained(self) -> str:
        """What is wrong, in words a caller can act on."""
        return self.reason or f"unknown tag {self.tag!r}; tags are {vocabulary.TAG_SYNTAX}"


# --- Tags ---------------------------------------------------------------------------------------


def parse_tag(tag: str) -> str:
    """Return the canonical spelling of a `providers.require` tag, or raise InvalidTag."""
    if not isinstance(tag, str):
        raise InvalidTag(tag)
    prefix, colon, value = tag.partition(":")
    prefix = prefix.lower()
    if not colon and prefix in _FLAG_REASON_CODES:
        return prefix
    check = _TAG_VALUES.get(prefix) if colon else None
    if check is None:
        raise InvalidTag(tag)
    try:
        return f"{prefix}:{check(value)}"
    except vocabulary.UnknownValue as exc:
        raise InvalidTag(tag, str(exc)) from None


def _reason_code(tag: str) -> str:
    return _FLAG_REASON_CODES.get(tag) or _PREFIX_REASON_CODES[tag.partition(":")[0]]


def _tag_rank(tag: str) -> tuple[int, str]:
    kind = tag if tag in _FLAG_REASON_CODES else tag.partition(":")[0]
    return _TAG_ORDER.index(kind), tag


# --- Catalog values -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Policy:
    """An endpoint's merged current data policy; every field defaults to the worst case."""

    training: str = Training.UNKNOWN
    retention: str = Retention.UNKNOWN
    retention_days: int | None = None
    safety_retention: str = Safety.UNKNOWN
    publishes_prompts: str = Publishing.UNKNOWN
    certifications: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()  # empty: unknown, so possibly anywhere
    headquarters: str | None = None
    review_due: date | None = None  # None: never verified, so stale

    def __post_init__(self):
        _check_choice("training", self.training, Training)
        _check_choice("retention", self.retention, Retention)
        _check_choice("safety_retention", self.safety_retention, Safety)
        _check_choice("publishes_prompts", self.publishes_prompts, Publishing)

    def is_stale(self, today: date) -> bool:
        return self.review_due is None or self.review_due < today

    def as_dict(self) -> dict:
        return {
            "training": self.training,
            "retention": self.retention,
            "retention_days": self.retention_days,
            "safety_retention": self.safety_retention,
            "publishes_prompts": self.publishes_prompts,
            "certifications": sorted(self.certifications),
            "regions": sorted(self.regions),
            "headquarters": self.headquarters,
            "review_due": self.review_due.isoformat() if self.review_due else None,
        }


def _check_choice(name: str, value: str, choices: type[StrEnum]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str  # "<model slug>@<provider slug>"
    model: str
    provider: str
    policy: Policy
    enabled: bool = True


@dataclass(frozen=True, slots=True, eq=False)
class _Facts:
    """What a policy provably guarantees: the tags it satisfies and the most days it keeps data.

    Compared by identity: a catalog compiles each distinct value once (`_compile_policies`), and
    identity hashing keeps the per-request verdict lookups cheap.
    """

    tags: frozenset[str]
    retention: float  # math.inf when indefinite or unknown
    review_due: date | None

    @classmethod
    def of(cls, policy: Policy) -> _Facts:
        return cls(_satisfied_tags(policy), _retention_bound(policy), policy.review_due)

    def is_stale(self, today: date) -> bool:
        return self.review_due is None or self.review_due < today


_UNKNOWN_FACTS = _Facts(frozenset(), math.inf, None)


def _satisfied_tags(policy: Policy) -> frozenset[str]:
    flags = {
        Tag.NO_TRAINING: policy.training == Training.NO,
        Tag.ZERO_RETENTION: policy.retention == Retention.ZERO,
        Tag.NO_SAFETY_RETENTION: policy.safety_retention == Safety.NONE,
        Tag.NO_PUBLISHING: policy.publishes_prompts == Publishing.NO,
    }
    tags = {tag for tag, holds in flags.items() if holds}
    tags.update(f"cert:{cert.lower()}" for cert in policy.certifications)
    regions = {region.lower() for region in policy.regions}
    if len(regions) == 1:
        tags.add(f"region:{regions.pop()}")
    if policy.headquarters:
        tags.add(f"hq:{policy.headquarters.upper()}")
    return frozenset(tags)


def _retention_bound(policy: Policy) -> float:
    if policy.retention == Retention.ZERO:
        return 0
    if policy.retention == Retention.DAYS and policy.retention_days is not None:
        return policy.retention_days
    return math.inf


def _facts_seen(facts: _Facts, stale_as_unknown: bool, today: date) -> _Facts:
    if stale_as_unknown and facts.is_stale(today):
        return _UNKNOWN_FACTS
    return facts


@dataclass(frozen=True, slots=True)
class _Candidates:
    """One model's endpoints, with what evaluation looks at deduplicated so that endpoints
    sharing a policy, a provider or both share the work."""

    endpoints: tuple[Endpoint, ...]  # sorted by id
    facts: tuple[_Facts, ...]
    providers: tuple[str, ...]
    profiles: tuple[tuple[int, int, bool], ...]  # (index in facts, index in providers, enabled)
    profile_of: tuple[int, ...]  # per endpoint, its index in profiles
    ids_of: tuple[tuple[str, ...], ...]  # per profile, its endpoints' ids (for relaxations)


def _candidates(endpoints: Sequence[Endpoint], facts_of: Mapping[Policy, _Facts]) -> _Candidates:
    facts: dict[_Facts, int] = {}
    providers: dict[str, int] = {}
    profiles: dict[tuple[int, int, bool], int] = {}
    profile_of = []
    ids_of: defaultdict[int, list[str]] = defaultdict(list)
    for e in endpoints:
        profile = (
            _index_of(facts, facts_of[e.policy]),
            _index_of(providers, e.provider),
            e.enabled,
        )
        profile_of.append(_index_of(profiles, profile))
        ids_of[profile_of[-1]].append(e.id)
    return _Candidates(
        tuple(endpoints),
        tuple(facts),
        tuple(providers),
        tuple(profiles),
        tuple(profile_of),
        tuple(tuple(ids_of[p]) for p in range(len(profiles))),
    )


def _index_of[T](index: dict[T, int], key: T) -> int:
    return index.setdefault(key, len(index))


class Catalog:
    """A compiled, immutable snapshot of the endpoints: build once, resolve many times."""

    __slots__ = ("version", "_by_model", "_models")

    def __init__(self, version: int, endpoints: Iterable[Endpoint]):
        ordered = _share_equal_policies(sorted(endpoints, key=lambda e: e.id))
        _check_endpoints(ordered)
        facts_of = _compile_policies(ordered)
        by_model: dict[str, list[Endpoint]] = defaultdict(list)
        for endpoint in ordered:
            by_model[endpoint.model].append(endpoint)
        self.version = version
        self._models = frozenset(by_model)
        self._by_model = {model: _candidates(eps, facts_of) for model, eps in by_model.items()}
        self._by_model[AUTO_MODEL] = _candidates(ordered, facts_of)

    def models(self) -> frozenset[str]:
        return self._models

    def endpoints_for(self, model: str) -> tuple[Endpoint, ...]:
        return self._candidates_for(model).endpoints

    def _candidates_for(self, model: str) -> _Candidates:
        try:
            return self._by_model[model]
        except KeyError:
            raise UnknownModel(model) from None


def _compile_policies(endpoints: Sequence[Endpoint]) -> dict[Policy, _Facts]:
    distinct: dict[tuple, _Facts] = {}
    compiled = {}
    for policy in {e.policy for e in endpoints}:
        facts = _Facts.of(policy)
        value = (facts.tags, facts.retention, facts.review_due)
        compiled[policy] = distinct.setdefault(value, facts)
    return compiled


def _share_equal_policies(endpoints: list[Endpoint]) -> list[Endpoint]:
    shared: dict[Policy, Policy] = {}
    return [_with_policy(e, shared.setdefault(e.policy, e.policy)) for e in endpoints]


def _with_policy(endpoint: Endpoint, policy: Policy) -> Endpoint:
    return endpoint if endpoint.policy is policy else replace(endpoint, policy=policy)


def _check_endpoints(endpoints: Sequence[Endpoint]) -> None:
    """Reject what would make lookups ambiguous; `endpoints` is sorted by id."""
    for before, after in zip(endpoints, endpoints[1:], strict=False):
        if before.id == after.id:
            raise ValueError(f"duplicate endpoint id: {before.id}")
    if any(e.model == AUTO_MODEL for e in endpoints):
        raise ValueError(f"{AUTO_MODEL} is reserved for every model")


# --- Constraints and their merge ----------------------------------------------------------------


@dataclass(frozen=True)
class Constraints:
    """One layer (account defaults, key guardrail or request); None means "says nothing"."""

    training_allowed: bool | None = None
    retention_days: int | None = None  # 0 means zero retention
    require: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()  # provider slugs
    only: frozenset[str] | None = None  # provider slugs; None means no restriction
    order: tuple[str, ...] = ()  # soft preference among eligible providers
    classification: str | None = None
    regulated_certifications: frozenset[str] = frozenset()  # only meaningful on the account
    stale_as_unknown: bool = False

    def __post_init__(self):
        if self.retention_days is not None and self.retention_days < 0:
            raise ValueError("retention_days must be >= 0")
        if self.classification is not None:
            _check_choice("classification", self.classification, Classification)

    def __hash__(self) -> int:
        # Every resolve hashes its layers (the key of `merge_cached`), and the account's and
        # key's layers are the same cached objects request after request: hash each once.
        found = self.__dict__.get("_hash")
        if found is None:
            found = self.__dict__["_hash"] = hash(tuple(getattr(self, f) for f in _LAYER_FIELDS))
        return found

    def __eq__(self, other) -> bool:
        # A request's layer is a new object each time, equal to one `merge_cached` has seen:
        # compared on every hit, so the cached hashes first, then the fields in one C-level
        # comparison of the instance dicts (hashing put `_hash` in both).
        if self is other:
            return True
        if type(other) is not Constraints:
            return NotImplemented
        return hash(self) == hash(other) and self.__dict__ == other.__dict__


_LAYER_FIELDS = tuple(f.name for f in fields(Constraints))


@dataclass(frozen=True)
class EffectivePolicy:
    """The meet of the layers; `sources` maps each constraint id to the layer that set it."""

    training_allowed: bool = True
    retention_days: int | None = None
    require: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()
    only: frozenset[str] | None = None
    order: tuple[str, ...] = ()
    classification: str = Classification.PUBLIC
    stale_as_unknown: bool = False
    sources: Mapping[str, str] = field(default_factory=dict, hash=False)

    def as_dict(self) -> dict:
        return {
            "training_allowed": self.training_allowed,
            "retention_days": self.retention_days,
            "require": sorted(self.require),
            "exclude": sorted(self.exclude),
            "only": None if self.only is None else sorted(self.only),
            "order": list(self.order),
            "classification": self.classification,
            "stale_as_unknown": self.stale_as_unknown,
            "sources": dict(sorted(self.sources.items())),
        }

    @cached_property
    def _checks(self) -> _Checks:
        # Built on first use and kept, so a caller that reuses an effective policy (a key with
        # no per-request overrides) pays for compiling it once.
        return _Checks.of(self)

    def without(self, constraints: Iterable[str]) -> EffectivePolicy:
        """This policy with the named constraints (ids as in `sources`) lifted."""
        policy = self
        for constraint in constraints:
            policy = _lift(policy, constraint)
        return policy


def _lift(policy: EffectivePolicy, constraint: str) -> EffectivePolicy:
    kind, _, item = constraint.partition(":")
    sources = {key: value for key, value in policy.sources.items() if key != constraint}
    if constraint == "training_allowed":
        return replace(policy, training_allowed=True, sources=sources)
    if constraint == "retention_days":
        return replace(policy, retention_days=None, sources=sources)
    if constraint == "only":
        return replace(policy, only=None, sources=sources)
    if kind == "require" and item:
        return replace(policy, require=policy.require - {item}, sources=sources)
    if kind == "exclude" and item:
        return replace(policy, exclude=policy.exclude - {item}, sources=sources)
    raise ValueError(f"not a relaxable constraint: {constraint!r}")


@lru_cache(maxsize=4096)
def merge_cached(layers: tuple[tuple[str, Constraints], ...]) -> EffectivePolicy:
    """`merge` for the hot path: the same few layer combinations recur request after request,
    and the returned policy keeps its compiled checks, so both are paid for once."""
    return merge(layers)


def merge(layers: Sequence[tuple[str, Constraints]]) -> EffectivePolicy:
    """Combine layers, strictest wins; layers come in precedence order (account, key, request)."""
    claims = _with_classification_presets(layers)
    sources: dict[str, str] = {}
    return EffectivePolicy(
        training_allowed=_merge_training(claims, sources),
        retention_days=_merge_retention(claims, sources),
        require=_merge_require(claims, sources),
        exclude=_merge_exclude(claims, sources),
        only=_merge_only(layers, sources),
        order=_merge_order(layers, sources),
        classification=_merge_classification(layers, sources),
        stale_as_unknown=_merge_stale_as_unknown(layers, sources),
        sources=sources,
    )


def _with_classification_presets(
    layers: Sequence[tuple[str, Constraints]],
) -> list[tuple[str, Constraints]]:
    # Regulated asks for "the account's required certifications"; only the account layer sets
    # them, so the union over layers is the account's set without depending on layer names.
    certifications = frozenset().union(*(c.regulated_certifications for _, c in layers))
    claims = []
    for name, constraints in layers:
        claims.append((name, constraints))
        preset = _classification_preset(constraints.classification, certifications)
        if preset is not None:
            claims.append((f"{name}:classification={constraints.classification}", preset))
    return claims


def _classification_preset(
    classification: str | None, certifications: frozenset[str]
) -> Constraints | None:
    if classification in (None, Classification.PUBLIC):
        return None
    if classification == Classification.INTERNAL:
        return Constraints(training_allowed=False, retention_days=INTERNAL_RETENTION_DAYS)
    # Safety retention of flagged content is its own choice, not part of a preset (PRODUCT.md
    # §2): no shipped provider promises to keep nothing flagged, so a preset requiring it would
    # leave nothing to route to.
    confidential = Constraints(
        training_allowed=False, retention_days=0, require=frozenset({Tag.ZERO_RETENTION.value})
    )
    if classification == Classification.CONFIDENTIAL:
        return confidential
    regulated = {Tag.VERIFIED.value, *(parse_tag(f"cert:{cert}") for cert in certifications)}
    return replace(confidential, require=confidential.require | regulated)


def _merge_training(claims: list[tuple[str, Constraints]], sources: dict[str, str]) -> bool:
    said = [(c.training_allowed, name) for name, c in claims if c.training_allowed is not None]
    forbidding = [name for allowed, name in said if not allowed]
    if forbidding:
        sources["training_allowed"] = forbidding[0]
    elif said:
        sources["training_allowed"] = said[0][1]
    return not forbidding


def _merge_retention(claims: list[tuple[str, Constraints]], sources: dict[str, str]) -> int | None:
    limits = [(c.retention_days, name) for name, c in claims if c.retention_days is not None]
    if not limits:
        return None
    days, name = min(limits, key=lambda limit: limit[0])  # ties: the earliest layer
    sources["retention_days"] = name
    return days


def _merge_require(claims: list[tuple[str, Constraints]], sources: dict[str, str]) -> frozenset:
    tags = set()
    for name, constraints in claims:
        for tag in map(parse_tag, constraints.require):
            sources.setdefault(f"require:{tag}", name)
            tags.add(tag)
    return frozenset(tags)


def _merge_exclude(claims: list[tuple[str, Constraints]], sources: dict[str, str]) -> frozenset:
    for name, constraints in claims:
        for provider in constraints.exclude:
            sources.setdefault(f"exclude:{provider}", name)
    return frozenset().union(*(c.exclude for _, c in claims))


def _merge_only(
    layers: Sequence[tuple[str, Constraints]], sources: dict[str, str]
) -> frozenset[str] | None:
    setting = [(name, c.only) for name, c in layers if c.only is not None]
    if not setting:
        return None
    sources["only"] = ",".join(name for name, _ in setting)
    return frozenset.intersection(*(frozenset(only) for _, only in setting))


def _merge_order(layers: Sequence[tuple[str, Constraints]], sources: dict[str, str]) -> tuple:
    setting = [(name, c.order) for name, c in layers if c.order]
    if not setting:
        return ()
    name, order = setting[-1]
    sources["order"] = name
    return tuple(order)


def _merge_classification(
    layers: Sequence[tuple[str, Constraints]], sources: dict[str, str]
) -> str:
    setting = [(Classification(c.classification), name) for name, c in layers if c.classification]
    if not setting:
        return Classification.PUBLIC.value
    strictest, name = max(setting, key=lambda item: item[0].rank)  # ties: the earliest layer
    sources["classification"] = name
    return strictest.value


def _merge_stale_as_unknown(
    layers: Sequence[tuple[str, Constraints]], sources: dict[str, str]
) -> bool:
    setting = [name for name, c in layers if c.stale_as_unknown]
    if setting:
        sources["stale_as_unknown"] = setting[0]
    return bool(setting)


# --- Evaluation ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    constraint: str  # an id of EffectivePolicy.sources, or "endpoint"
    source: str


# The results are named tuples rather than frozen dataclasses: as immutable, and built (once
# per excluded endpoint, and once per resolve) at a third of the cost.


class Exclusion(NamedTuple):
    endpoint: Endpoint
    reasons: tuple[Reason, ...]


class Relaxation(NamedTuple):
    constraints: tuple[str, ...]
    description: str
    unlocks: tuple[str, ...]  # endpoint ids


class Resolution(NamedTuple):
    model: str
    catalog_version: int
    effective: EffectivePolicy
    eligible: tuple[Endpoint, ...]
    excluded: tuple[Exclusion, ...]
    relaxations: tuple[Relaxation, ...]  # empty unless nothing is eligible


@dataclass(frozen=True, slots=True, eq=False)
class _Checks:
    """An effective policy compiled for evaluation: set lookups first, Reasons only on failure."""

    training_allowed: bool
    require: frozenset[str]
    required: frozenset[str]  # tags every eligible endpoint satisfies
    retention_limit: float  # math.inf when there is no limit
    stale_as_unknown: bool
    exclude: frozenset[str]
    only: frozenset[str] | None
    names_providers: bool  # exclude or only: most requests name no provider
    sources: Mapping[str, str]
    # Most resolutions exclude few endpoints, and excluded ones fail in few distinct ways, so
    # Reasons are built on first need and shared: by constraint id, and by way of failing.
    made: dict[str, Reason] = field(default_factory=dict)
    failures: dict[tuple[frozenset[str], bool, bool], tuple[Reason, ...]] = field(
        default_factory=dict
    )
    # A catalog has few distinct facts, shared by many models, and the same effective policy
    # recurs request after request: each facts' verdict is worked out once a day (staleness
    # depends on the day), then looked up.
    by_day: dict[date, dict[_Facts, tuple[Reason, ...]]] = field(default_factory=dict)
    failing_by_day: dict[date, dict[_Facts, frozenset[str]]] = field(default_factory=dict)

    @classmethod
    def of(cls, effective: EffectivePolicy) -> _Checks:
        required = effective.require - {Tag.VERIFIED}
        if not effective.training_allowed:
            required |= {Tag.NO_TRAINING}
        limit = effective.retention_days
        return cls(
            training_allowed=effective.training_allowed,
            require=effective.require,
            required=required,
            retention_limit=math.inf if limit is None else limit,
            stale_as_unknown=effective.stale_as_unknown,
            exclude=effective.exclude,
            only=effective.only,
            names_providers=bool(effective.exclude) or effective.only is not None,
            sources=effective.sources,
        )

    def verdicts(self, candidates: _Candidates, today: date) -> list[tuple[Reason, ...]]:
        """The reasons of every profile of the candidates, in profile order."""
        by_facts = self.policy_verdicts(candidates.facts, today)
        if not self.names_providers:
            return [
                by_facts[facts] if enabled else by_facts[facts] + _DISABLED
                for facts, _, enabled in candidates.profiles
            ]
        by_provider = [self.provider_reasons(provider) for provider in candidates.providers]
        return [
            by_facts[facts] + by_provider[provider] + (() if enabled else _DISABLED)
            for facts, provider, enabled in candidates.profiles
        ]

    def policy_verdicts(self, facts: Sequence[_Facts], today: date) -> list[tuple[Reason, ...]]:
        known = _memo_of(self.by_day, today)
        verdicts = []
        for one in facts:
            verdict = known.get(one)
            if verdict is None:
                verdict = known[one] = self._policy_verdict(one, today)
            verdicts.append(verdict)
        return verdicts

    def _policy_verdict(self, facts: _Facts, today: date) -> tuple[Reason, ...]:
        stale = facts.is_stale(today)
        seen = _UNKNOWN_FACTS if stale and self.stale_as_unknown else facts
        over_limit = seen.retention > self.retention_limit
        stale_fails = stale and Tag.VERIFIED in self.require
        if self.required <= seen.tags and not over_limit and not stale_fails:
            return ()
        failure = (self.required - seen.tags, over_limit, stale_fails)
        if failure not in self.failures:
            self.failures[failure] = self._failure_reasons(*failure)
        return self.failures[failure]

    def failing_constraints(self, facts: Sequence[_Facts], today: date) -> list[frozenset[str]]:
        """The constraint ids each facts fails, for relaxations."""
        known = _memo_of(self.failing_by_day, today)
        missing = [one for one in facts if one not in known]
        for one, reasons in zip(missing, self.policy_verdicts(missing, today), strict=True):
            known[one] = _constraints_of(reasons)
        return [known[one] for one in facts]

    def _failure_reasons(
        self, missing: frozenset[str], over_limit: bool, stale_fails: bool
    ) -> tuple[Reason, ...]:
        tags = sorted(missing, key=_tag_rank)
        reasons = [reason for tag in tags for reason in self._missing_tag_reasons(tag)]
        if over_limit:
            reasons.append(self._reason(ReasonCode.RETENTION_EXCEEDS_LIMIT, "retention_days"))
        if stale_fails:
            reasons.append(self._reason(ReasonCode.POLICY_STALE, "require:verified"))
        return tuple(reasons)

    def _missing_tag_reasons(self, tag: str) -> list[Reason]:
        reasons = []
        if tag == Tag.NO_TRAINING and not self.training_allowed:
            reasons.append(self._reason(ReasonCode.TRAINS_ON_DATA, "training_allowed"))
        if tag in self.require:
            reasons.append(self._reason(_reason_code(tag), f"require:{tag}"))
        return reasons

    def provider_reasons(self, provider: str) -> tuple[Reason, ...]:
        reasons = []
        if provider in self.exclude:
            reasons.append(self._reason(ReasonCode.PROVIDER_EXCLUDED, f"exclude:{provider}"))
        if self.only is not None and provider not in self.only:
            reasons.append(self._reason(ReasonCode.PROVIDER_NOT_ALLOWED, "only"))
        return tuple(reasons)

    def _reason(self, code: str, constraint: str) -> Reason:
        if constraint not in self.made:
            source = self.sources.get(constraint, "unspecified")
            self.made[constraint] = Reason(code, constraint, source)
        return self.made[constraint]


def _memo_of[T](by_day: dict[date, dict[_Facts, T]], today: date) -> dict[_Facts, T]:
    known = by_day.get(today)
    if known is None or len(known) > _MAX_KNOWN_FACTS:
        # A new day (or many recompiled catalogs): start over. A thread still on the old day
        # keeps filling its own dictionary, which is no longer this one.
        known = {}
        by_day.clear()
        by_day[today] = known
    return known


def _constraints_of(reasons: Iterable[Reason]) -> frozenset[str]:
    return frozenset([reason.constraint for reason in reasons])


_DISABLED = (Reason(ReasonCode.ENDPOINT_DISABLED, "endpoint", "catalog"),)
_MAX_KNOWN_FACTS = 10_000


def evaluate(endpoint: Endpoint, effective: EffectivePolicy, today: date) -> tuple[Reason, ...]:
    """Every reason the endpoint may not serve under `effective`; empty means eligible."""
    candidates = _candidates([endpoint], {endpoint.policy: _Facts.of(endpoint.policy)})
    # Fresh checks: this endpoint's facts are not a catalog's, and would only fill the memo.
    return _Checks.of(effective).verdicts(candidates, today)[0]


def resolve(catalog: Catalog, model: str, effective: EffectivePolicy, today: date) -> Resolution:
    """Split the model's endpoints (every endpoint for anyapi/auto) into eligible and excluded."""
    candidates = catalog._candidates_for(model)
    verdicts = effective._checks.verdicts(candidates, today)
    eligible, excluded = _partition(candidates, verdicts)
    eligible = _preferred_first(eligible, effective.order)
    relaxations = () if eligible else _relaxations(candidates, effective, today)
    return Resolution(model, catalog.version, effective, eligible, excluded, relaxations)


def resolve_cached(
    catalog: Catalog, model: str, effective: EffectivePolicy, today: date
) -> Resolution:
    """`resolve` for the hot path, with an effective policy from `merge_cached`: the gateway
    asks the same question request after request (one key's layers, one model, one day), and a
    resolution depends on nothing else, so each is worked out once and kept."""
    key = (catalog, effective._checks, model, today)  # the catalog and policy by identity
    found = _RESOLVED.get(key)
    if found is None:
        found = resolve(catalog, model, effective, today)
        _RESOLVED.keep(key, found)
    return found


class _Resolutions:
    """Kept resolutions, forgotten all at once when they hold more endpoints than the budget
    (a recompiled catalog or a new day leaves old keys that will never be asked again)."""

    def __init__(self, budget: int):
        self.budget = budget
        self.clear()

    def clear(self) -> None:
        self._kept: dict[tuple, Resolution] = {}
        self._held = 0

    def get(self, key: tuple) -> Resolution | None:
        return self._kept.get(key)

    def keep(self, key: tuple, resolution: Resolution) -> None:
        size = 1 + len(resolution.eligible) + len(resolution.excluded)
        if self._held + size > self.budget:
            self.clear()  # a thread racing this may lose an entry: it is worked out again
        self._kept[key] = resolution
        self._held += size


# Endpoints held across kept resolutions: with 10,000 endpoints, 50 anyapi/auto answers.
_RESOLVED = _Resolutions(budget=500_000)


def _partition(
    candidates: _Candidates, verdicts: list[tuple[Reason, ...]]
) -> tuple[list[Endpoint], tuple[Exclusion, ...]]:
    eligible = []
    excluded = []
    for endpoint, profile in zip(candidates.endpoints, candidates.profile_of, strict=True):
        if reasons := verdicts[profile]:
            excluded.append(_exclusion(Exclusion, (endpoint, reasons)))
        else:
            eligible.append(endpoint)
    return eligible, tuple(excluded)


_exclusion = tuple.__new__  # Exclusion(...) without its Python-level __new__: one per endpoint


def _preferred_first(endpoints: list[Endpoint], order: tuple[str, ...]) -> tuple[Endpoint, ...]:
    if not order:
        return tuple(endpoints)
    rank: dict[str, int] = {}
    for position, provider in enumerate(order):
        rank.setdefault(provider, position)
    return tuple(sorted(endpoints, key=lambda e: rank.get(e.provider, len(order))))


# --- Relaxations --------------------------------------------------------------------------------

MAX_RELAXATIONS = 3


def _relaxations(
    candidates: _Candidates, effective: EffectivePolicy, today: date
) -> tuple[Relaxation, ...]:
    # Lifting a set S of constraints unlocks the endpoints whose failing constraints all lie in
    # S, so the smallest useful sets are exactly the smallest failing sets, each unlocking the
    # endpoints that fail it exactly.
    profiles_failing = _profiles_by_failing_constraints(candidates, effective._checks, today)
    if not profiles_failing:
        return ()
    fewest = min(map(len, profiles_failing))
    options = []
    for constraints, profiles in profiles_failing.items():
        if len(constraints) == fewest:
            retention = math.inf  # only a relaxation of the limit names a number of days
            if "retention_days" in constraints:
                profiles = _least_retention_needed(candidates, profiles, effective, today)
                retention = max(_retention_seen(candidates, p, effective, today) for p in profiles)
            unlocks = sorted([id for p in profiles for id in candidates.ids_of[p]])
            options.append(_relaxation(sorted(constraints), unlocks, retention, effective.sources))
    options.sort(key=lambda option: (-len(option.unlocks), option.constraints))
    return tuple(options[:MAX_RELAXATIONS])


def _profiles_by_failing_constraints(
    candidates: _Candidates, checks: _Checks, today: date
) -> dict[frozenset[str], list[int]]:
    by_facts = checks.failing_constraints(candidates.facts, today)
    by_provider = None
    if checks.names_providers:
        by_provider = [_constraints_of(checks.provider_reasons(p)) for p in candidates.providers]
    profiles_failing = defaultdict(list)
    for profile, (facts, provider, enabled) in enumerate(candidates.profiles):
        if enabled:  # a disabled endpoint is not the caller's to relax
            constraints = by_facts[facts]
            if by_provider is not None:
                constraints |= by_provider[provider]
            profiles_failing[constraints].append(profile)
    return profiles_failing


def _least_retention_needed(
    candidates: _Candidates, profiles: list[int], effective: EffectivePolicy, today: date
) -> list[int]:
    """The profiles unlocked by the smallest longer limit; dropping the limit only when every
    one of them may keep data without bound."""
    needed = {p: _retention_seen(candidates, p, effective, today) for p in profiles}
    finite = [days for days in needed.values() if days != math.inf]
    if not finite:
        return profiles
    return [p for p in profiles if needed[p] <= min(finite)]


def _retention_seen(
    candidates: _Candidates, profile: int, effective: EffectivePolicy, today: date
) -> float:
    facts = candidates.facts[candidates.profiles[profile][0]]
    return _facts_seen(facts, effective.stale_as_unknown, today).retention


def _relaxation(
    constraints: list[str], unlocks: list[str], retention: float, sources: Mapping[str, str]
) -> Relaxation:
    phrases = [_relaxation_phrase(c, retention, sources) for c in constraints]
    count = f"{len(unlocks)} endpoint{'' if len(unlocks) == 1 else 's'}"
    description = f"{' and '.join(phrases)} unlocks {count}"
    return Relaxation(tuple(constraints), description, tuple(unlocks))


def _relaxation_phrase(constraint: str, retention: float, sources: Mapping[str, str]) -> str:
    if constraint == "retention_days" and retention != math.inf:
        return f"allowing {retention}-day retention"
    return f"dropping {constraint} ({sources.get(constraint, 'unspecified')})"
