"""Replaying the corpus through the real refresh pipeline.

Each corpus source is registered on a local HTTP server, either without a selector ("bare") or
with Open Terms Archive's selectors ("ota"), and served its snapshots one after another with a
refresh after each. A reviewer keeps up: whatever is pending after a step is decided before the
next one, so each step is judged against the text the reviewer last saw. Needs Django and a
database; the caller opens the server settings (FETCH_ALLOW_PRIVATE_HOSTS, FETCH_ALLOWED_PORTS).
"""

from collections import Counter
from dataclasses import dataclass, field

from django.contrib.auth.models import Group, User
from django.utils.text import slugify

from catalog.models import PolicyChange, PolicySource, Provider
from catalog.refresh.pipeline import CHANGED, refresh_source
from catalog.review import changes
from tests.catalog import corpus
from tests.catalog.local_server import LocalServer

REGISTRATIONS = ("bare", "ota")


@dataclass
class Outcome:
    step: corpus.Step
    proposed: bool
    material: bool | None  # the proposal's label; None when nothing was proposed


@dataclass
class Scores:
    registration: str
    outcomes: list[Outcome] = field(default_factory=list)

    def _count(self, predicate) -> int:
        return sum(1 for outcome in self.outcomes if predicate(outcome))

    @property
    def proposals(self) -> int:
        return self._count(lambda o: o.proposed)

    @property
    def true_proposals(self) -> int:
        return self._count(lambda o: o.proposed and o.step.is_real)

    @property
    def real_changes(self) -> int:
        return self._count(lambda o: o.step.is_real)

    @property
    def precision(self) -> float:
        return self.true_proposals / self.proposals if self.proposals else 1.0

    @property
    def recall(self) -> float:
        return self.true_proposals / self.real_changes if self.real_changes else 1.0

    @property
    def false_material(self) -> list[Outcome]:
        """Noise that reached the queue labelled material: the worst kind of noise."""
        return [o for o in self.outcomes if o.step.label == "noise" and o.material]

    @property
    def material_labelled_editorial(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.step.label == "material" and o.material is False]

    @property
    def noise_proposed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.proposed and not o.step.is_real]

    @property
    def missed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.step.is_real and not o.proposed]

    def line(self) -> str:
        labels = Counter(o.step.label for o in self.outcomes)
        return (
            f"{self.registration}: {len(self.outcomes)} steps ({dict(labels)}), "
            f"{self.proposals} proposals, precision {self.precision:.3f}, "
            f"recall {self.recall:.3f}, false material {len(self.false_material)}, "
            f"material labelled editorial {len(self.material_labelled_editorial)}"
        )


def replay(registration: str) -> Scores:
    reviewer = _reviewer()
    scores = Scores(registration)
    with LocalServer() as server:
        for number, source in enumerate(corpus.manifest()["sources"]):
            path = f"/{number}/{slugify(source['id'])}"
            scores.outcomes += _replay_source(server, path, source, registration, reviewer)
    return scores


def _replay_source(server, path, source, registration, reviewer) -> list[Outcome]:
    steps = corpus.steps(source)
    _serve(server, path, steps[0].before)
    registered = _register(server.url(path), source, registration)
    refresh_source(registered.pk)
    outcomes = []
    for step in steps:
        _serve(server, path, step.after)
        proposed = refresh_source(registered.pk) == CHANGED
        pending = registered.changes.open().first()
        outcomes.append(Outcome(step, proposed, pending.material if proposed else None))
        if pending is not None:
            changes.approve(pending, reviewer, "corpus replay: the reviewer keeps up")
    return outcomes


def _serve(server, path, file) -> None:
    body = corpus.snapshot_bytes(file)
    server.routes[path] = (200, {"Content-Type": "text/html; charset=utf-8"}, body)


def _register(url, source, registration) -> PolicySource:
    provider, _ = Provider.objects.get_or_create(
        slug=f"corpus-{slugify(source['provider'])}", defaults={"name": source["provider"]}
    )
    rules = {}
    if registration == "ota":
        declaration = source["declaration"]
        rules = {"select": ", ".join(declaration["select"]), "remove": declaration["remove"]}
    return PolicySource.objects.create(
        provider=provider, url=url, kind=PolicySource.Kind.PRIVACY_POLICY, **rules
    )


def _reviewer() -> User:
    user, _ = User.objects.get_or_create(
        username="corpus-reviewer", defaults={"email": "corpus@example.com", "is_staff": True}
    )
    user.groups.add(Group.objects.get_or_create(name="privacy-team")[0])
    return user


def clear() -> None:
    """Remove what a replay created, so the next registration starts from nothing."""
    PolicyChange.objects.filter(provider__slug__startswith="corpus-").delete()
    PolicySource.objects.filter(provider__slug__startswith="corpus-").delete()
    Provider.objects.filter(slug__startswith="corpus-").delete()
