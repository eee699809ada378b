"""The synthetic catalog of the benchmarks, and the resolve requests sent to it.

100 providers × 2,000 models, each model served by 5 providers: 10,000 endpoints. Providers
follow the shapes of the real catalog (catalog/data/catalog.json): zero retention with or
without safety retention, 30 or 7 days, training on data, partly or wholly unknown, a few never
verified and a few stale; a few endpoints override their provider (a zero-retention tier, a free
tier that trains) or are disabled. Written with bulk_create, not the loader: the loader's
per-row review workflow would take minutes for what this needs in seconds.

Imports Django models: import this module only after `tests.bench.setup()`.
"""

import random
import time
from collections import defaultdict
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from catalog.models import CatalogState, Endpoint, LanguageModel, PolicyVersion, Provider
from catalog.policy import snapshot
from dashboard.models import Account, ApiKey

PROVIDERS = 100
MODELS = 2_000
PROVIDERS_PER_MODEL = 5
ENDPOINTS = MODELS * PROVIDERS_PER_MODEL
# Marks the rows of this generator: bump it when the shapes below change, and a reused
# database is rebuilt instead of silently benchmarking the old shapes.
ORIGIN = "synthetic-v1"

_KNOWN_SAFE = {"training": "no", "publishes_prompts": "no"}
SHAPES = {
    "zdr": {
        **_KNOWN_SAFE,
        "retention": "zero",
        "safety_retention": "none",
        "certifications": ["soc2", "iso27001"],
        "regions": ["eu"],
    },
    "zdr-flagged": {
        **_KNOWN_SAFE,
        "retention": "zero",
        "safety_retention": "flagged_only",
        "certifications": ["hipaa"],
    },
    "thirty-days": {
        "training": "no",
        "retention": "days",
        "retention_days": 30,
        "safety_retention": "flagged_only",
        "certifications": ["soc2", "gdpr-dpa"],
        "regions": ["us"],
    },
    "seven-days": {
        **_KNOWN_SAFE,
        "retention": "days",
        "retention_days": 7,
        "regions": ["us", "eu"],
    },
    "trains": {"training": "yes", "retention": "indefinite", "publishes_prompts": "unknown"},
    "training-only-known": {"training": "no"},
    "unknown": {},  # verified, but the provider's pages say nothing usable
    "never-verified": None,  # no policy version at all
}
# Out of every 20 providers; spread so that a model's 5 providers mix shapes.
SHAPE_CYCLE = (
    ["thirty-days"] * 5
    + ["zdr", "zdr-flagged"] * 2
    + ["seven-days"] * 2
    + ["trains"] * 3
    + ["unknown"] * 3
    + ["training-only-known"] * 2
    + ["never-verified"]
)
HEADQUARTERS = ("US", "US", "US", "FR", "DE", "GB", "CN", "CA", "IL", "")
VENDORS = ("acme", "orbit", "nova", "lumen", "zephyr", "quanta", "atlas", "helix", "cobalt", "iris")
OVERRIDES = (
    {"retention": "zero", "safety_retention": "none"},  # a zero-retention tier of the model
    {"training": "yes", "retention": "unknown"},  # a free tier
)
OVERRIDE_EVERY = 200  # 50 overrides
DISABLED_EVERY = 97  # ~100 disabled endpoints


def shape_of(index: int) -> str:
    return SHAPE_CYCLE[(index * 7) % len(SHAPE_CYCLE)]


def providers_for_model(index: int) -> list[int]:
    # A step of 23 gives 5 distinct providers whose positions in SHAPE_CYCLE and HEADQUARTERS
    # differ too; every provider ends up serving 100 models.
    start = (index * 37) % PROVIDERS
    return [(start + k * 23) % PROVIDERS for k in range(PROVIDERS_PER_MODEL)]


def ensure_catalog() -> None:
    """Build the synthetic catalog unless the bench database already holds it."""
    if _is_built():
        print(f"synthetic catalog: reused ({_describe()})", flush=True)
    else:
        started = time.perf_counter()
        _build()
        elapsed = time.perf_counter() - started
        print(f"synthetic catalog: built in {elapsed:.1f} s ({_describe()})", flush=True)
    # The cache may remember the version of an older build of this database.
    snapshot.publish_version(CatalogState.current_version())


def _is_built() -> bool:
    """Whether what the snapshot compiles is still this generator's catalog. Other benchmarks
    may add rows (the refresh benchmark proposes versions); only current versions count."""
    current = PolicyVersion.objects.current()
    # Review dates are relative to the build: rebuild once the fresh ones have passed.
    fresh = current.filter(origin=ORIGIN, review_due__gte=timezone.now().date())
    return (
        Endpoint.objects.count() == ENDPOINTS
        and Provider.objects.count() == PROVIDERS
        and not current.exclude(origin=ORIGIN).exists()
        and current.filter(origin=ORIGIN).count() == _expected_versions()
        and fresh.exists()
    )


def _expected_versions() -> int:
    defaults = sum(SHAPES[shape_of(i)] is not None for i in range(PROVIDERS))
    return defaults + len(range(0, ENDPOINTS, OVERRIDE_EVERY))


def _describe() -> str:
    overrides = PolicyVersion.objects.filter(endpoint__isnull=False).count()
    disabled = Endpoint.objects.filter(enabled=False).count()
    return (
        f"{Provider.objects.count()} providers, {LanguageModel.objects.count():,} models, "
        f"{Endpoint.objects.count():,} endpoints, {overrides} overrides, {disabled} disabled"
    )


@transaction.atomic
def _build() -> None:
    _truncate_catalog()
    today = timezone.now().date()
    providers = Provider.objects.bulk_create(
        Provider(
            slug=f"prov-{i:02d}",
            name=f"Provider {i:02d}",
            headquarters=HEADQUARTERS[i % len(HEADQUARTERS)],
        )
        for i in range(PROVIDERS)
    )
    models = LanguageModel.objects.bulk_create(
        LanguageModel(slug=f"{VENDORS[i % len(VENDORS)]}/model-{i:04d}", name=f"Model {i:04d}")
        for i in range(MODELS)
    )
    pairs = [(m, providers[p]) for i, m in enumerate(models) for p in providers_for_model(i)]
    endpoints = Endpoint.objects.bulk_create(
        [
            Endpoint(model=model, provider=provider, enabled=n % DISABLED_EVERY != 5)
            for n, (model, provider) in enumerate(pairs)
        ],
        batch_size=2_000,
    )
    PolicyVersion.objects.bulk_create(
        [*_provider_versions(providers, today), *_override_versions(endpoints, today)]
    )
    CatalogState.bump()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh statistics, so the naive resolver's queries use indexes


def _truncate_catalog() -> None:
    tables = [m._meta.db_table for m in (PolicyVersion, Endpoint, LanguageModel, Provider)]
    with connection.cursor() as cursor:
        # CASCADE empties what other apps keep about the old catalog; this database is ours.
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")  # noqa: S608


def _provider_versions(providers, today):
    for i, provider in enumerate(providers):
        fields = SHAPES[shape_of(i)]
        if fields is not None:
            stale = i % 10 == 3  # its review date has passed
            yield _version(provider, None, fields, today, stale)


def _override_versions(endpoints, today):
    for n, endpoint in enumerate(endpoints):
        if n % OVERRIDE_EVERY == 0:
            fields = OVERRIDES[(n // OVERRIDE_EVERY) % len(OVERRIDES)]
            yield _version(endpoint.provider, endpoint, fields, today, stale=False)


def _version(provider, endpoint, fields, today, stale) -> PolicyVersion:
    return PolicyVersion(
        provider=provider,
        endpoint=endpoint,
        number=1,
        status=PolicyVersion.Status.APPROVED,
        origin=ORIGIN,
        source_url=f"https://{provider.slug}.example/privacy",
        verified_by="bench@example.com",
        verified_at=today - timedelta(days=200 if stale else 20),
        review_due=today + timedelta(days=-20 if stale else 160),
        decided_at=timezone.now(),
        catalog_version=1,
        **fields,
    )


# --- Requests -------------------------------------------------------------------------------


def providers_by_model() -> dict[str, list[str]]:
    by_model = defaultdict(list)
    for model, provider in Endpoint.objects.values_list("model__slug", "provider__slug"):
        by_model[model].append(provider)
    return dict(by_model)


# Weighted by repetition: most callers who require anything require no training.
REQUIRE_TAGS = (
    *["no-training"] * 4,
    *["zero-retention"] * 2,
    "no-publishing",
    "verified",
    "cert:soc2",
    "region:eu",
    "hq:US",
)


def request_bodies(by_model: dict[str, list[str]], count: int, seed: int = 1) -> list[dict]:
    """Resolve bodies as a gateway sends them: the model, sometimes privacy blocks, and chat
    fields the API ignores."""
    rng = random.Random(seed)
    models = sorted(by_model)
    bodies = []
    for _ in range(count):
        model = rng.choice(models)
        body = {"model": model, **_privacy_blocks(rng, by_model[model])}
        if rng.random() < 0.5:
            body["messages"] = [{"role": "user", "content": "Summarise this ticket for me."}]
            body["temperature"] = 0.2
        bodies.append(body)
    return bodies


def _privacy_blocks(rng: random.Random, providers: list[str]) -> dict:
    kind = rng.random()
    if kind < 0.40:
        return {}
    if kind < 0.60:
        tags = rng.sample(REQUIRE_TAGS, k=rng.choice((1, 1, 1, 2)))
        return {"providers": {"require": list(dict.fromkeys(tags))}}
    if kind < 0.70:
        days = rng.choice((0, 7, 30, 30))
        return {"data_policy": {"training_allowed": False, "retention_days": days}}
    if kind < 0.80:
        return {"provider": rng.choice(({"zdr": True}, {"data_collection": "deny"}))}
    if kind < 0.90:
        return {"classification": rng.choice(("internal", "internal", "confidential"))}
    return {
        "providers": rng.choice(
            (
                {"exclude": providers[:1]},
                {"only": providers[:3]},
                {"order": providers[::-1][:2]},
            )
        )
    }


def issue_inference_key() -> str:
    """A fresh inference key of the bench account; earlier runs' keys are deleted."""
    account, _ = Account.objects.get_or_create(slug="bench", defaults={"name": "Benchmarks"})
    ApiKey.objects.filter(account=account).delete()
    _, secret = ApiKey.issue(name="bench", account=account)
    return secret
