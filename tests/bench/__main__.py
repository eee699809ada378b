"""`make bench`: every benchmark, then one table of what was measured against the targets.

A benchmark that fails to run shows its figures as n/a and MISS; the exit status is 0 unless
BENCH_STRICT=1, since a shared machine can miss a target on a busy minute.
"""

import os
import sys
import time
import traceback

from tests.bench import Result, print_table, setup


def main() -> int:
    started = time.perf_counter()
    setup()  # sets DJANGO_SETTINGS_MODULE and DATABASE_URL, then django.setup()
    from tests.bench import bench_dashboard, bench_http, bench_ingest, bench_refresh, bench_resolver

    print(f"machine: {_load_average()}", flush=True)
    results: list[Result] = []
    benches = (
        ("in process", bench_resolver),
        ("over HTTP", bench_http),
        ("policy refresh", bench_refresh),
        ("usage ingest", bench_ingest),
        ("activity dashboard", bench_dashboard),
    )
    for name, bench in benches:
        print(f"\n== {name} ==", flush=True)
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


def _load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


if __name__ == "__main__":
    sys.exit(main())
