import json

from django.core.management.base import BaseCommand, CommandError

from catalog.catalog_file import parse_catalog
from catalog.evidence import is_known
from catalog.management.commands.seed_catalog import SHIPPED_CATALOG
from catalog.policy.vocabulary import FIELD_LABELS

SOURCES = SHIPPED_CATALOG.with_name("SOURCES.md")
SHOWN_FIELDS = [name for name in FIELD_LABELS if name != "retention_days"]
HEADER = """# Sources of `catalog.json`

Generated from `catalog/data/catalog.json` by `python manage.py writesources`: never edit it by
hand (a test fails when it is out of date). Each value other than `unknown` is quoted from a page
on the provider's own domains (`basis` public) or from a contract AnyAPI holds (`agreement`);
`unknown` is the worst case, and its note says why. Third-party pages only corroborate.
"""


class Command(BaseCommand):
    help = "Write catalog/data/SOURCES.md from the shipped catalog (--check: only compare)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="fail if the file is stale")

    def handle(self, check=False, **options):
        text = render(parse_catalog(json.loads(SHIPPED_CATALOG.read_text())))
        if check:
            if SOURCES.read_text() != text:
                raise CommandError(f"{SOURCES} is out of date: run manage.py writesources")
            return
        SOURCES.write_text(text)
        self.stdout.write(f"wrote {SOURCES}")


def render(catalog) -> str:
    endpoints = {}
    for endpoint in catalog.endpoints:
        endpoints.setdefault(endpoint.provider, []).append(endpoint)
    counts = (
        f"{len(catalog.providers)} providers, {len(catalog.models)} models, "
        f"{len(catalog.endpoints)} endpoints."
    )
    parts = [HEADER, counts, ""]
    for provider in catalog.providers:
        parts += _provider_section(provider, endpoints.get(provider.slug, []))
    return "\n".join(parts).rstrip() + "\n"


def _provider_section(provider, endpoints) -> list[str]:
    policy = provider.policy
    lines = [
        f"## {provider.name} (`{provider.slug}`)",
        "",
        f"Own domains: {', '.join(provider.domains) or 'none listed'}. "
        f"Also called: {', '.join(provider.aliases) or '—'}. "
        f"Verified {policy.verified_at or '—'}, review due {policy.review_due or '—'}.",
        "",
        "| field | value | quoted page | captured | basis | note |",
        "|---|---|---|---|---|---|",
    ]
    values = {name: getattr(policy, name) for name in SHOWN_FIELDS}
    values["headquarters"] = provider.headquarters
    lines += _rows(values, policy)
    overrides = [e for e in endpoints if e.policy is not None and not e.policy.is_empty()]
    if overrides:
        lines += ["", "Endpoint overrides:", ""]
        lines += ["| endpoint | field | value | quoted page | captured | basis | note |"]
        lines += ["|---|---|---|---|---|---|---|"]
        for endpoint in overrides:
            given = {n: getattr(endpoint.policy, n) for n in SHOWN_FIELDS}
            given = {n: v for n, v in given.items() if v is not None}
            rows = _rows(given, endpoint.policy, policy)
            lines += [f"| `{endpoint.endpoint_id}` {row[1:]}" for row in rows]
    lines += ["", _endpoint_line(endpoints), ""]
    return lines


def _rows(values, policy, inherited=None) -> list[str]:
    evidence = policy.evidence_dict() if inherited is None else _with_dates(policy, inherited)
    rows = []
    for name, value in values.items():
        item = evidence.get(name) if is_known(value) else None
        note = (item or {}).get("condition") or policy.notes.get(name, "")
        rows.append(
            "| "
            + " | ".join(
                [
                    name,
                    _value(name, value, policy),
                    item["source_url"] or "—" if item else "—",
                    (item["captured_at"] or "—") if item else "—",
                    _basis(item) if item else "—",
                    _cell(note),
                ]
            )
            + " |"
        )
    return rows


def _with_dates(policy, inherited) -> dict:
    """An override's bare quotes are captured when its provider's policy was verified."""
    return {
        name: {**item, "captured_at": item["captured_at"] or _iso(inherited.verified_at)}
        for name, item in policy.evidence_dict().items()
    }


def _iso(day) -> str | None:
    return day.isoformat() if day else None


def _value(name, value, policy) -> str:
    if value is None or value == []:
        return "unknown"
    if name == "retention" and value == "days":
        return f"{policy.retention_days} days"
    return ", ".join(sorted(value)) if isinstance(value, list) else str(value)


def _basis(item) -> str:
    if item["basis"] == "agreement":
        return f"agreement ({item['reference']})"
    return "public" + (" (+ third-party corroboration)" if item["corroboration"] else "")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _endpoint_line(endpoints) -> str:
    if not endpoints:
        return "Endpoints: none listed (no model list on the provider's own pages was read)."
    names = [
        f"`{e.model}`" + ("" if e.enabled else " (disabled)")
        for e in sorted(endpoints, key=lambda e: e.model)
    ]
    return f"Endpoints ({len(endpoints)}): " + ", ".join(names) + "."
