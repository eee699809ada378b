"""Benchmarks of the policy resolver, in process and over HTTP: `make bench`.

Not tests: pytest collects `test_*.py`, these are `bench_*.py`. Run all of them with
`python -m tests.bench`, or one alone with `python -m tests.bench.bench_resolver` (or
`bench_http`). They use a dedicated PostgreSQL database holding a synthetic catalog, and print
what they measured next to the targets of the issue; nothing here is hard-coded.

This module stays free of Django imports: load-generator processes import the package too.
"""

import math
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_DB_NAME", "console_bench")
DATABASE_URL = f"{POSTGRES_URL}/{DB_NAME}"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
# The bare Django JSON view resolve is compared with (tests/bench/urls.py serves it).
BARE_PATH = "/bench/bare"
# One secret per run, shared by this process, `migrate` and gunicorn.
SECRET_KEY = secrets.token_urlsafe(48)


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


def django_env() -> dict[str, str]:
    """Production-like settings on the bench database: what gunicorn runs with, and this process."""
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "CACHE_URL": REDIS_URL,
        "DEBUG": "0",  # DEBUG would also record every query of the naive resolver in memory
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
    }


def setup() -> None:
    """Point Django at the bench database, create and migrate it, then start Django."""
    os.environ.update(django_env())
    _create_database()
    print(f"bench database: {DB_NAME} (migrating…)", flush=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        check=True,
    )
    import django

    django.setup()


def _create_database() -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB_NAME)))


# --- Results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """One measured figure; `target` None means informational (no PASS/MISS)."""

    name: str
    value: float
    unit: str
    target: float | None = None
    at_most: bool = False  # the target is a ceiling (latency, memory, errors)

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        if math.isnan(self.value):
            return False
        return self.value <= self.target if self.at_most else self.value >= self.target

    @property
    def ratio(self) -> float | None:
        """How far past the target: >= 1 meets it, whichever direction the target points."""
        if self.target is None or self.target == 0 or math.isnan(self.value):
            return None
        if self.at_most:
            return math.inf if self.value == 0 else self.target / self.value
        return self.value / self.target

    @property
    def status(self) -> str:
        return {None: "info", True: "PASS", False: "MISS"}[self.met]


def failed(name: str, unit: str, target: float | None, at_most: bool = False) -> Result:
    """A figure that could not be measured: shown as n/a, and a MISS when it had a target."""
    return Result(name, math.nan, unit, target, at_most)


def fmt(value: float, unit: str) -> str:
    if math.isnan(value):
        return "n/a"
    digits = {"ms": 2, "MB": 1, "s": 2, "×": 1, "%": 1}.get(unit, 0)
    if unit == "/s" and value < 100:
        digits = 1
    if unit == "×" and value < 10:
        digits = 2
    space = "" if unit == "×" else " "
    return f"{value:,.{digits}f}{space}{unit}"


def print_table(results: list[Result]) -> None:
    rows = [("metric", "measured", "target", "ratio", "status")]
    for r in results:
        target = "—" if r.target is None else f"{'≤' if r.at_most else '≥'} {fmt(r.target, r.unit)}"
        ratio = "—" if r.ratio is None else ("∞" if math.isinf(r.ratio) else f"{r.ratio:.2f}")
        rows.append((r.name, fmt(r.value, r.unit), target, ratio, r.status))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        cells = [cell.rjust(width) for cell, width in zip(row, widths, strict=True)]
        cells[0] = row[0].ljust(widths[0])
        print("  ".join(cells).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print("ratio: measured ÷ target (target ÷ measured for ceilings); ≥ 1.00 meets the target.")
