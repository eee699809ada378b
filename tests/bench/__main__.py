"""`make bench`: every benchmark, then one table of what was measured against the targets.

Every `tests/bench/bench_*.py` module with a `run()` is a benchmark, so a new one is picked up
without editing this file; ORDER puts the known ones first (the rest follow by name), and
BENCH_ONLY=resolver,http runs a subset. A module's TITLE heads its section.

A benchmark that fails to run shows its figures as n/a and MISS; the exit status is 0 unless
BENCH_STRICT=1, since a shared machine can miss a target on a busy minute.
"""

import importlib
import os
import pkgutil
import sys
import time
import traceback
from pathlib import Path

from tests.bench import Result, print_table, setup

ORDER = ("resolver", "http", "refresh", "ingest", "dashboard")


def main() -> int:
    started = time.perf_counter()
    setup()  # sets DJANGO_SETTINGS_MODULE and DATABASE_URL, then django.setup()
    print(f"machine: {_load_average()}", flush=True)
    results: list[Result] = []
    for bench in benchmarks(os.environ.get("BENCH_ONLY", "")):
        print(f"\n== {getattr(bench, 'TITLE', bench.__name__)} ({_load_average()}) ==", flush=True)
        try:
            results += bench.run()
        except Exception:
            traceback.print_exc()
            results += bench.failed_results()
    print(f"\n== summary ({time.perf_counter() - started:.0f} s; {_load_average()}) ==")
    print_table(results)
    missed = [r.name for r in results if r.met is False]
    print(f"missed: {', '.join(missed)}" if missed else "every target met")
    return 1 if missed and os.environ.get("BENCH_STRICT") == "1" else 0


def benchmarks(only: str = "") -> list:
    names = [
        module.name.removeprefix("bench_")
        for module in pkgutil.iter_modules([str(Path(__file__).parent)])
        if module.name.startswith("bench_")
    ]
    chosen = {name.strip() for name in only.split(",") if name.strip()}
    unknown = chosen - set(names)
    if unknown:
        raise SystemExit(f"BENCH_ONLY: no benchmark {', '.join(sorted(unknown))}")
    ordered = sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    return [
        importlib.import_module(f"tests.bench.bench_{name}")
        for name in ordered
        if not chosen or name in chosen
    ]


def _load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


if __name__ == "__main__":
    sys.exit(main())
