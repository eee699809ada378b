"""A resolution explained for people: which constraints excluded endpoints, grouped by reason in
plain words, and which models were left with nowhere to go. Pure: no Django import."""

from collections import Counter, defaultdict

from catalog.policy import resolver
from catalog.policy.vocabulary import REASON_TEXT


def unknown_model(model: str) -> str:
    return f"The catalog has no model {model!r}."


def blocking_constraints(resolution: resolver.Resolution) -> list[str]:
    """Every constraint that excluded at least one endpoint, strongest offenders first."""
    counts: dict[str, int] = {}
    for exclusion in resolution.excluded:
        for reason in exclusion.reasons:
            counts[reason.constraint] = counts.get(reason.constraint, 0) + 1
    return sorted(counts, key=lambda c: (-counts[c], c))


def unavailable_models(resolution: resolver.Resolution) -> set[str]:
    """The models none of whose endpoints is eligible."""
    reachable = {e.model for e in resolution.eligible}
    return {x.endpoint.model for x in resolution.excluded} - reachable


def reason_groups(resolution: resolver.Resolution, shown: int) -> list[dict]:
    """Excluded endpoints by reason code, most frequent first, naming at most `shown` endpoints
    each; an endpoint may fail several ways."""
    endpoints, constraints = defaultdict(list), defaultdict(set)
    for exclusion in resolution.excluded:
        for code in dict.fromkeys(reason.code for reason in exclusion.reasons):
            endpoints[code].append(exclusion.endpoint.id)
        for reason in exclusion.reasons:
            constraints[reason.code].add((reason.constraint, reason.source))
    groups = [
        {
            "code": code,
            "text": REASON_TEXT.get(code, ""),
            "count": len(ids),
            "endpoints": ids[:shown],
            "constraints": sorted(constraints[code]),
        }
        for code, ids in endpoints.items()
    ]
    return sorted(groups, key=lambda group: (-group["count"], group["code"]))


def main_reasons(resolution: resolver.Resolution) -> list[tuple[str, str, int, int]]:
    """(model, main reason, endpoints failing it, endpoints) of each model with none eligible."""
    unavailable = unavailable_models(resolution)
    codes, sizes = {}, Counter()
    for exclusion in resolution.excluded:
        model = exclusion.endpoint.model
        if model in unavailable:
            sizes[model] += 1
            codes.setdefault(model, Counter()).update({r.code for r in exclusion.reasons})
    rows = []
    for model in sorted(unavailable):
        code, count = min(codes[model].items(), key=lambda item: (-item[1], item[0]))
        rows.append((model, REASON_TEXT.get(code, code), count, sizes[model]))
    return rows
