"""Synthetic usage traffic for demos and load tests, stored through the real ingest path.

Shapes follow what a gateway sees: a few popular models and a long tail, each account with
favourites of its own; busy afternoons (UTC) and quiet nights and weekends; prompt and
completion sizes and latency log-normal and growing with the model's size; about 2 % errors,
timeouts and rejections; cost from tokens at per-route prices. The same seed and `now` give the
same events.

`generate` sends each key's traffic only to the endpoints the resolver admits under the
account's defaults, the key's guardrail and active exceptions, as the gateway would: a demo
whose Activity showed traffic its own settings forbid would contradict itself. Asked to, a share
of events goes to routes the catalog does not know, as a misconfigured gateway would send.
"""

import math
import random
import uuid
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from catalog.policy.snapshot import get_catalog
from dashboard import audit, policy, privacy
from dashboard.apikeys import create_key
from dashboard.models import Account, ApiKey
from usage.events import Event
from usage.ingest import IngestResult, ingest
from usage.models import Status

BATCH = 5_000
# Events start this long after the window's start, so ingest's retention cut-off, which moves
# on while a large run is still generating, never meets them.
EDGE = timedelta(hours=1)
UNKNOWN_ROUTES = (
    ("openai/gpt-4o", "unlisted-gpu-cloud"),
    ("meta-llama/llama-3.1-8b-instruct", "cheap-inference-co"),
    ("shadowlabs/sl-chat-7b", "shadowlabs"),
)


class NoCatalog(Exception):
    pass


class NothingAllowed(NoCatalog):
    pass


@dataclass(frozen=True, slots=True)
class Size:
    prompt_median: int
    completion_median: int
    first_token_ms: int
    ms_per_token: float
    nanos_per_prompt_token: int  # USD 1 per million tokens = 1,000 nanos per token
    nanos_per_completion_token: int


SIZES = {
    "small": Size(700, 220, 250, 4, 150, 600),
    "medium": Size(900, 300, 450, 9, 1_000, 4_000),
    "large": Size(1_400, 450, 800, 18, 5_000, 20_000),
}
_SMALL_HINTS = ("mini", "nano", "lite", "haiku", "flash", "small", "scout", "8b", "7b")
_LARGE_HINTS = ("opus", "405b", "235b", "large", "-pro", "max", "gpt-4.1", "grok", "-r1", "o3")


def size_of(model: str) -> str:
    name = model.rsplit("/", 1)[-1]
    if any(hint in name for hint in _SMALL_HINTS):
        return "small"
    if any(hint in name for hint in _LARGE_HINTS):
        return "large"
    return "medium"


@dataclass(frozen=True, slots=True)
class SyntheticRoute:
    model: str
    provider: str
    size: Size
    price_factor: float  # providers charge differently for one model
    known: bool = True


def catalog_routes() -> list[SyntheticRoute]:
    """The enabled endpoints of the current catalog; NoCatalog when there are none."""
    catalog = get_catalog()
    pairs = sorted(
        (endpoint.model, endpoint.provider)
        for model in catalog.models()
        for endpoint in catalog.endpoints_for(model)
        if endpoint.enabled
    )
    if not pairs:
        raise NoCatalog("The catalog has no endpoints: run seed_catalog first.")
    return [_route(model, provider, True) for model, provider in pairs]


def _route(model: str, provider: str, known: bool) -> SyntheticRoute:
    # The price factor is the route's own, not the seed's: the same route costs the same.
    factor = random.Random(f"{model}@{provider}").uniform(0.7, 1.4)
    return SyntheticRoute(model, provider, SIZES[size_of(model)], factor, known)


@transaction.atomic
def accounts_for(count: int) -> list[Account]:
    """`count` accounts: existing ones first (oldest first), then new `demo-N` accounts, each
    with an inference key for its traffic."""
    accounts = list(Account.objects.order_by("pk")[:count])
    taken = set(Account.objects.values_list("slug", flat=True))
    number = 0
    while len(accounts) < count:
        number += 1
        if f"demo-{number}" not in taken:
            accounts.append(_demo_account(number))
    return accounts


def _demo_account(number: int) -> Account:
    account = Account.objects.create(slug=f"demo-{number}", name=f"Demo {number}")
    audit.record(
        "account.created",
        account=account,
        target=account.slug,
        after={"name": account.name, "origin": "generate_usage"},
    )
    create_key(name="Synthetic traffic", kind=ApiKey.Kind.INFERENCE, account=account)
    return account


@dataclass(frozen=True, slots=True)
class _Sender:
    slug: str
    key: str | None
    routes: tuple[SyntheticRoute, ...]
    weights: tuple[float, ...]  # cumulative, over `routes`


Allowed = Callable[[int, str | None], frozenset[tuple[str, str]] | None]


class Traffic:
    """An endless, reproducible stream of events for the given accounts and routes.

    `allowed(account pk, key prefix)` names the (model, provider) routes that key may use, None
    for any; a key allowed none sends nothing. `unknown_share` of the events go to routes the
    catalog does not know."""

    def __init__(
        self,
        accounts,
        keys_of,
        routes,
        *,
        days: int,
        now: datetime,
        seed=None,
        allowed: Allowed = lambda account, key: None,
        unknown_share: float = 0.0,
    ):
        self.rng = random.Random(seed)
        self.end = now
        self.start = now - timedelta(days=days) + EDGE
        self.unknown_share = unknown_share
        self.popularity = self._popularity(routes)
        self.provider_share = [self.rng.uniform(0.2, 1.0) for _ in routes]
        self.senders, volumes = [], []
        for account in accounts:
            keys = tuple(keys_of.get(account.pk, ())) or (None,)
            volume = self.rng.lognormvariate(0, 1)
            for sender in self._senders(account, keys, routes, allowed):
                self.senders.append(sender)
                volumes.append(volume / len(keys))
        if not self.senders:
            raise NothingAllowed("No key of these accounts may use any endpoint of the catalog.")
        self.volume = _cumulative(volumes)
        self.unknown = [_route(model, provider, False) for model, provider in UNKNOWN_ROUTES]

    def _popularity(self, routes) -> dict[str, float]:
        # Zipf over the models, in a seeded order: a few popular models and a long tail.
        models = sorted({route.model for route in routes})
        self.rng.shuffle(models)
        return {model: 1 / rank for rank, model in enumerate(models, 1)}

    def _senders(self, account, keys, routes, allowed: Allowed) -> Iterator[_Sender]:
        # Each key favours 5 to 12 of the models it may use, mostly the popular ones (a customer
        # picks among what its settings reach), and reaches each through every provider of the
        # model it may use, some more than others.
        taste = {m: p * self.rng.lognormvariate(0, 0.7) for m, p in self.popularity.items()}
        favourites = self.rng.randint(5, 12)
        for key in keys:
            permitted = allowed(account.pk, key)
            usable = [
                i
                for i, route in enumerate(routes)
                if permitted is None or (route.model, route.provider) in permitted
            ]
            models = sorted({routes[i].model for i in usable}, key=taste.__getitem__, reverse=True)
            chosen = set(models[:favourites])
            indexes = [i for i in usable if routes[i].model in chosen]
            if indexes:
                yield _Sender(
                    account.slug,
                    key,
                    tuple(routes[i] for i in indexes),
                    tuple(
                        _cumulative(
                            taste[routes[i].model] * self.provider_share[i] for i in indexes
                        )
                    ),
                )

    def events(self) -> Iterator[Event]:
        rng = self.rng
        while True:
            sender = self.senders[_pick(rng, self.volume)]
            if self.unknown_share and rng.random() < self.unknown_share:
                route = rng.choice(self.unknown)
            else:
                route = sender.routes[_pick(rng, sender.weights)]
            yield self._event(sender, route)

    def _event(self, sender: _Sender, route: SyntheticRoute) -> Event:
        rng = self.rng
        status, prompt, completion, latency = self._outcome(route.size)
        cost = None
        if route.known:
            price = route.size
            nanos = prompt * price.nanos_per_prompt_token
            nanos += completion * price.nanos_per_completion_token
            cost = round(nanos * route.price_factor) if status == Status.OK else 0
        return Event(
            timestamp=self._moment(),
            event_id=uuid.UUID(int=rng.getrandbits(128), version=4),
            account=sender.slug,
            api_key=sender.key,
            model=route.model,
            provider=route.provider,
            tokens_prompt=prompt,
            tokens_completion=completion,
            latency_ms=latency,
            status=int(status),
            cost_nanos=cost,
        )

    def _outcome(self, size: Size) -> tuple[int, int, int, int]:
        """(status, prompt tokens, completion tokens, latency ms) of one request."""
        rng, roll = self.rng, self.rng.random()
        if roll < 0.005:  # refused before any provider saw it: no eligible endpoint
            return Status.REJECTED, 0, 0, rng.randint(2, 40)
        prompt = _lognormal(rng, size.prompt_median, 1.0, 200_000)
        if roll < 0.010:
            return Status.TIMEOUT, prompt, 0, rng.randint(60_000, 120_000)
        if roll < 0.022:
            return Status.ERROR, prompt, 0, _lognormal(rng, 400, 0.6, 30_000)
        completion = _lognormal(rng, size.completion_median, 0.8, 16_000)
        expected = size.first_token_ms + size.ms_per_token * completion
        return Status.OK, prompt, completion, round(expected * rng.lognormvariate(0, 0.35))

    def _moment(self) -> datetime:
        # Rejection sampling against the diurnal and weekly curve, whose peak is 1.
        rng, span = self.rng, (self.end - self.start).total_seconds()
        while True:
            moment = self.start + timedelta(seconds=rng.random() * span)
            if rng.random() < activity(moment):
                return moment.replace(microsecond=0)


def activity(moment: datetime) -> float:
    """Relative traffic at a moment: peaks at 15:00 UTC on weekdays, a third of that at night,
    a little over half on weekends."""
    hour = moment.hour + moment.minute / 60
    daily = 0.35 + 0.65 * (1 + math.cos(2 * math.pi * (hour - 15) / 24)) / 2
    return daily * (0.55 if moment.weekday() >= 5 else 1.0)


def _lognormal(rng: random.Random, median: float, sigma: float, most: int) -> int:
    return max(1, min(most, round(rng.lognormvariate(math.log(median), sigma))))


def _cumulative(weights) -> list[float]:
    total, running = 0.0, []
    for weight in weights:
        total += weight
        running.append(total)
    return running


def _pick(rng: random.Random, cumulative: Sequence[float]) -> int:
    # bisect on cumulative weights: random.choices would rebuild them on every call.
    return min(bisect_right(cumulative, rng.random() * cumulative[-1]), len(cumulative) - 1)


def generate(
    accounts: Sequence[Account],
    *,
    days: int,
    events: int,
    seed: int | None = None,
    now: datetime | None = None,
    routes: Sequence[SyntheticRoute] | None = None,
    unknown_share: float = 0.0,
    progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """Ingest `events` synthetic events for `accounts` over the last `days` days, in batches
    of BATCH, each key's only to the endpoints its settings allow; the totals. `progress` is
    told the size of each stored batch."""
    keys = list(
        ApiKey.objects.active()
        .filter(account__in=accounts, kind=ApiKey.Kind.INFERENCE)
        .order_by("pk")
    )
    keys_of: dict[int, list[str]] = {}
    for key in keys:
        keys_of.setdefault(key.account_id, []).append(key.prefix)
    now = (now or timezone.now()).astimezone(UTC)
    traffic = Traffic(
        accounts,
        keys_of,
        routes or catalog_routes(),
        days=days,
        now=now,
        seed=seed,
        allowed=routes_allowed(accounts, keys, now.date()),
        unknown_share=unknown_share,
    )
    stream, accepted, duplicates = traffic.events(), 0, 0
    for size in _batch_sizes(events):
        result = ingest([next(stream) for _ in range(size)])
        accepted, duplicates = accepted + result.accepted, duplicates + result.duplicates
        if progress:
            progress(size)
    return IngestResult(accepted, duplicates)


def routes_allowed(accounts, keys, today) -> Allowed:
    """What the resolver admits for each key (or an account with no key), as the gateway asks
    it on every request: the account's defaults, the key's guardrail and active exceptions."""
    catalog, allowed = get_catalog(), {}
    layers = {(key.account_id, key.prefix): privacy.layers_for_key(key) for key in keys}
    for account in accounts:
        layers.setdefault((account.pk, None), privacy.layers_for_account(account))
    for sender, sender_layers in layers.items():
        resolution = policy.resolve_every_model(catalog, sender_layers, today)
        allowed[sender] = frozenset((e.model, e.provider) for e in resolution.eligible)
    return lambda account, key: allowed.get((account, key), frozenset())


def _batch_sizes(total: int) -> Iterator[int]:
    while total > 0:
        yield min(BATCH, total)
        total -= BATCH
