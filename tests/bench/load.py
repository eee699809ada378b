"""HTTP load for the benchmarks: `wrk` (`make bench` installs it). Without wrk the benchmarks
refuse to run, loudly, unless BENCH_PYTHON_LOAD=1 asks for Python processes, which take CPU
from the server and so understate it.

Closed loop: each connection sends its next request when the previous answer arrives. Bodies are
sent round-robin from a prepared list. A 2xx or a 422 (no eligible endpoint: a valid answer) is a
success; any other status, and any socket error or timeout, is an error.

No Django here: the Python load generator's processes import this module.
"""

import http.client
import json
import math
import multiprocessing
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class LoadStats:
    tool: str
    seconds: float
    ok: int  # 2xx
    unprocessable: int  # 422
    errors: int  # other statuses, socket errors and timeouts
    p50_ms: float
    p99_ms: float
    max_ms: float
    error_sample: str = ""  # what the first errors were

    @property
    def answered(self) -> int:
        return self.ok + self.unprocessable

    @property
    def per_second(self) -> float:
        return self.answered / self.seconds


class LoadGeneratorMissing(RuntimeError):
    pass


MISSING = (
    "wrk is not installed, so the HTTP benchmarks cannot run: `make bench` installs it with "
    "apt as root (else: sudo apt-get install wrk). BENCH_PYTHON_LOAD=1 measures with Python "
    "processes instead, which take CPU from the server and understate it."
)


def run_load(
    url: str, bodies: list[str], headers: dict[str, str], seconds: float, connections: int
) -> LoadStats:
    if shutil.which("wrk"):
        return _wrk(url, bodies, headers, seconds, connections)
    if os.environ.get("BENCH_PYTHON_LOAD") != "1":
        raise LoadGeneratorMissing(MISSING)
    print(
        f"!!! BENCH_PYTHON_LOAD=1: {connections} Python load processes instead of wrk; they "
        "cost more CPU per request, taken from the server",
        flush=True,
    )
    return _python_load(url, bodies, headers, seconds, connections)


# --- wrk ------------------------------------------------------------------------------------

_WRK_SCRIPT = """
local bodies = {%(bodies)s}
local headers = %(headers)s
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok, unprocessable, other, other_status = 0, 0, 0, 0
  prepared = {}
  for i, body in ipairs(bodies) do
    prepared[i] = wrk.format("POST", "%(path)s", headers, body)
  end
  counter = 0
end

function request()
  counter = counter %% #prepared + 1
  return prepared[counter]
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  elseif status == 422 then
    unprocessable = unprocessable + 1
  else
    other = other + 1
    other_status = status
  end
end

function done(summary, latency, requests)
  local totals = {ok = 0, unprocessable = 0, other = 0, other_status = 0}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      if name == "other_status" then
        totals[name] = math.max(totals[name], thread:get(name))
      else
        totals[name] = totals[name] + thread:get(name)
      end
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"duration_us": %%d, "ok": %%d, "unprocessable": %%d, "other": %%d, ' ..
    '"other_status": %%d, "connect": %%d, "read": %%d, "write": %%d, "timeout": %%d, ' ..
    '"p50_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
    summary.duration, totals.ok, totals.unprocessable, totals.other, totals.other_status,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def _wrk(url, bodies, headers, seconds, connections) -> LoadStats:
    # "[ [==[" with a space: "[[" would open a Lua long string.
    lua_headers = ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items())
    script = _WRK_SCRIPT % {
        "bodies": ",\n".join(map(_lua_string, bodies)),
        "headers": "{" + lua_headers + "}",
        "path": urlsplit(url).path,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-") as file:
        file.write(script)
        file.flush()
        threads = max(1, min(connections, (os.cpu_count() or 2) // 2))
        command = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "5s",
            "-s",
            file.name,
            url,
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH_RESULT ")]
    if done.returncode or not lines:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-500:]}")
    line = lines[0]
    r = json.loads(line.removeprefix("BENCH_RESULT "))
    socket_errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
    sample = ", ".join(
        f"{name} {r[name]}" for name in ("connect", "read", "write", "timeout") if r[name]
    )
    if r["other"]:
        sample = f"{r['other']} × HTTP {r['other_status']} (last seen); {sample}".rstrip("; ")
    return LoadStats(
        tool=f"wrk, {threads} thread(s), {connections} connections",
        seconds=r["duration_us"] / 1e6,
        ok=r["ok"],
        unprocessable=r["unprocessable"],
        errors=r["other"] + socket_errors,
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        max_ms=r["max_us"] / 1000,
        error_sample=sample,
    )


# --- Python fallback ------------------------------------------------------------------------


def _python_load(url, bodies, headers, seconds, connections) -> LoadStats:
    parts = urlsplit(url)
    jobs = [
        (parts.hostname, parts.port, parts.path, headers, bodies, seconds, n)
        for n in range(connections)
    ]
    # spawn, not fork: the parent holds database and Redis connections.
    with multiprocessing.get_context("spawn").Pool(connections) as pool:
        results = pool.map(_client, jobs)
    latencies = sorted(latency for latencies, _, _ in results for latency in latencies)
    statuses: dict[int, int] = {}
    errors, samples = 0, []
    for _, counts, client_errors in results:
        for status, count in counts.items():
            statuses[status] = statuses.get(status, 0) + count
        errors += len(client_errors)
        samples += client_errors[:3]
    ok = sum(count for status, count in statuses.items() if 200 <= status < 300)
    other = {s: c for s, c in statuses.items() if not 200 <= s < 300 and s != 422}
    sample = "; ".join([*(f"{c} × HTTP {s}" for s, c in other.items()), *samples[:3]])
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [math.nan] * 99
    return LoadStats(
        tool=f"Python http.client, {connections} processes",
        seconds=seconds,  # each process loads for `seconds` once it has started
        ok=ok,
        unprocessable=statuses.get(422, 0),
        errors=errors + sum(other.values()),
        p50_ms=quantiles[49] * 1000,
        p99_ms=quantiles[98] * 1000,
        max_ms=(latencies[-1] if latencies else math.nan) * 1000,
        error_sample=sample,
    )


def _client(job) -> tuple[list[float], dict[int, int], list[str]]:
    host, port, path, headers, bodies, seconds, offset = job
    connection = http.client.HTTPConnection(host, port, timeout=5)
    latencies, counts, errors = [], {}, []
    n = offset * 7919  # connections start at different bodies
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = bodies[n % len(bodies)]
        n += 1
        started = time.perf_counter()
        try:
            connection.request("POST", path, body.encode(), headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            connection.close()
            continue
        latencies.append(time.perf_counter() - started)
        counts[response.status] = counts.get(response.status, 0) + 1
        if response.will_close:
            connection.close()  # sync gunicorn workers close after each answer; reopened next
    connection.close()
    return latencies, counts, errors
