"""Evidence of a policy value (PRODUCT.md §1): the sentence that carries it, the page it is quoted
from and when that page said it, and whether the promise is public or a contract AnyAPI holds.

Plain Python, shared by the catalog file format, the review forms and the pages. Stored evidence
always has one shape, `normalise`'s: {"quote", "source_url", "captured_at", "basis", "reference",
"condition", "corroboration"}; the file format also accepts the older {"passage", "url"} and a bare
quote whose page is the policy's `source_url`.
"""

from collections.abc import Iterable, Mapping
from datetime import date
from urllib.parse import urlsplit

from catalog.policy.vocabulary import Basis

PUBLIC, AGREEMENT = Basis.PUBLIC.value, Basis.AGREEMENT.value
UNKNOWN = "unknown"  # the value every field set has
# retention_days is one value with retention: the retention quote carries both.
EVIDENCE_KEY = {"retention_days": "retention"}


def evidence_key(field: str) -> str:
    return EVIDENCE_KEY.get(field, field)


def normalise(item, page: str | None = None, captured: date | str | None = None) -> dict:
    """One stored shape for every accepted spelling of a field's evidence. `page` and `captured`
    (the policy's `source_url` and `verified_at`) stand in for what the item does not name."""
    if isinstance(item, str):
        item = {"quote": item}
    captured_at = item.get("captured_at") or captured
    basis = item.get("basis") or PUBLIC
    if basis == AGREEMENT:  # a contract is not on the policy's public page
        page = None
    return {
        "quote": item.get("quote") or item.get("passage") or "",
        "source_url": item.get("source_url") or item.get("url") or page or "",
        "captured_at": captured_at.isoformat() if isinstance(captured_at, date) else captured_at,
        "basis": basis,
        "reference": item.get("reference") or "",
        "condition": item.get("condition") or "",
        "corroboration": [dict(c) for c in item.get("corroboration") or ()],
    }


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def on_domains(url: str, domains: Iterable[str]) -> bool:
    """Whether `url` is on one of the registrable `domains` or a subdomain of one."""
    host = host_of(url)
    return bool(host) and any(
        host == domain or host.endswith(f".{domain}") for domain in map(str.lower, domains)
    )


def is_known(value) -> bool:
    """A value that says something: not unset, not `unknown`, not an empty set."""
    return value not in (None, UNKNOWN, "", [], (), frozenset())


def problems(
    values: Mapping, evidence: Mapping, domains: Iterable[str], *, level: str
) -> list[tuple[str, str]]:
    """What is wrong with the evidence of one policy level, as (path under `evidence`, message).

    `values` maps field names to the level's values; `level` is "provider" or "endpoint": a
    conditional promise only holds for a provider's default when the condition is a contract
    AnyAPI holds (basis `agreement`); otherwise it belongs on the endpoint that carries it."""
    domains = tuple(domains)
    found = []
    for field, value in values.items():
        key = evidence_key(field)
        if not is_known(value) or key != field and key in values:
            continue
        item = evidence.get(key)
        if item is None:
            found.append((key, f"{field} is {value!r} but has no evidence; quote the provider"))
            continue
        found.extend((f"{key}.{path}", message) for path, message in _item_problems(item, domains))
        if item["condition"] and level == "provider" and item["basis"] != AGREEMENT:
            found.append((f"{key}.condition", _CONDITIONAL_DEFAULT))
    return found


_CONDITIONAL_DEFAULT = (
    "a conditional promise does not hold for the provider's default: put it on the endpoint "
    "whose traffic meets the condition, or give it basis 'agreement' with the contract reference"
)


def _item_problems(item: Mapping, domains: tuple[str, ...]) -> list[tuple[str, str]]:
    if not item["quote"].strip():
        return [("quote", "the quoted sentence is empty")]
    if item["basis"] == AGREEMENT:
        return [] if item["reference"].strip() else [("reference", _NO_REFERENCE)]
    if not item["source_url"]:
        return [("source_url", "a public quote needs the page it is quoted from")]
    if not on_domains(item["source_url"], domains):
        return [("source_url", _off_domains(item["source_url"], domains))]
    return []


_NO_REFERENCE = "agreement evidence needs the contract's reference"


def _off_domains(url: str, domains: tuple[str, ...]) -> str:
    own = ", ".join(domains) or "none listed"
    return (
        f"{host_of(url) or url!r} is not one of the provider's own domains ({own}); "
        "third-party pages may only corroborate"
    )


SECONDARY_ONLY = "secondary sources only"


def secondary_only(notes: Mapping[str, str]) -> list[str]:
    """Fields whose note says only third-party text speaks to them: the page warns about those."""
    return sorted(field for field, note in notes.items() if SECONDARY_ONLY in note.lower())
