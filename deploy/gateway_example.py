#!/usr/bin/env python3
"""A gateway's side of the console, end to end: resolve a chat request, pick an endpoint, report
what happened. Standard library only, so it runs beside any gateway; README "Gateway
integration" explains each choice.

    deploy/gateway_example.py --console http://127.0.0.1:8000 --key <inference key> \
        --ingest-key <ingest key> [--account <slug>] [--model <slug>]

Prints one line per step and exits 0 when every step answered as the contract says.
"""

import argparse
import hashlib
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime

RESOLVE_TIMEOUT_SECONDS = 0.5  # resolve is on every request's path: fail fast, then decide
INGEST_TIMEOUT_SECONDS = 10
RETRIES = 3
CACHE_SECONDS = 30  # at most this stale; a newer catalog_version drops everything at once


class Console:
    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")

    def post(self, path: str, body: bytes, key: str, timeout: float) -> tuple[int, dict]:
        # The base URL is the operator's own console (http or https), never a request's input.
        request = urllib.request.Request(  # noqa: S310
            self.base_url + path,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")


def with_retries(send, retries=RETRIES):
    """`send()` again on 429, 503 or no answer, backing off; the last answer otherwise."""
    for attempt in range(retries):
        try:
            status, answer = send()
        except (urllib.error.URLError, TimeoutError):
            status, answer = None, {}
        if status not in (None, 429, 503):
            return status, answer
        time.sleep(min(2.0, 0.1 * 2**attempt))
    return status, answer


class ResolveCache:
    """Answers by (key, policy fields): reused until CACHE_SECONDS pass or any answer shows a
    newer catalog version, so a policy change takes effect everywhere at once."""

    def __init__(self):
        self.entries: dict[str, tuple[float, dict]] = {}
        self.catalog_version = 0

    @staticmethod
    def key_for(api_key: str, body: dict) -> str:
        policy = {k: body.get(k) for k in POLICY_FIELDS}
        text = api_key.partition(".")[0] + json.dumps(policy, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def get(self, cache_key: str) -> dict | None:
        hit = self.entries.get(cache_key)
        if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
        return None

    def put(self, cache_key: str, answer: dict) -> None:
        if answer["catalog_version"] > self.catalog_version:
            self.entries.clear()
            self.catalog_version = answer["catalog_version"]
        self.entries[cache_key] = (time.monotonic(), answer)


# Everything resolve reads; the rest of the body (messages!) never leaves the gateway for it.
POLICY_FIELDS = ("model", "models", "classification", "data_policy", "providers", "provider")


def resolve(console, cache, api_key, body) -> tuple[str, dict]:
    """('route', answer), ('refuse', error) or ('unavailable', {})."""
    cache_key = cache.key_for(api_key, body)
    if (answer := cache.get(cache_key)) is not None:
        return "route", answer
    policy_only = json.dumps({k: body[k] for k in POLICY_FIELDS if k in body}).encode()
    status, answer = with_retries(
        lambda: console.post(
            "/api/v1/policy/resolve", policy_only, api_key, RESOLVE_TIMEOUT_SECONDS
        )
    )
    if status == 200:
        cache.put(cache_key, answer)
        return "route", answer
    if status in (400, 401, 403, 404, 422):
        return "refuse", answer.get("error", {})
    return "unavailable", {}  # fail closed: never route without an answer


def usage_event(account: str, api_key: str, endpoint: dict, status: str) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "account": account,
        "api_key": api_key.partition(".")[0],
        "timestamp": datetime.now(UTC).isoformat(),
        "model": endpoint["model"],
        "provider": endpoint["provider"],
        "tokens_prompt": 42,
        "tokens_completion": 7,
        "latency_ms": 180,
        "status": status,
    }


def report(console, ingest_key, events) -> tuple[int, dict]:
    """One batch; retried with the same ids, so a retry after a lost answer counts once."""
    body = json.dumps({"events": events}).encode()
    return with_retries(
        lambda: console.post("/api/v1/usage/events", body, ingest_key, INGEST_TIMEOUT_SECONDS)
    )


def main(argv=None) -> int:
    args = _arguments(argv)
    console, cache = Console(args.console), ResolveCache()
    chat = {
        "model": args.model,
        "messages": [{"role": "user", "content": "never sent to the console"}],
        "provider": {"data_collection": "deny", "sort": "price"},
    }
    outcome, answer = resolve(console, cache, args.key, chat)
    if outcome != "route":
        return _fail(f"resolve: {outcome} {answer}")
    chosen = answer["eligible"][0]
    version, count = answer["catalog_version"], len(answer["eligible"])
    print(
        f"resolve: {answer['model']} -> {chosen['endpoint']} (catalog v{version}, "
        f"{count} eligible, ignored {answer['ignored']})"
    )
    again, _ = resolve(console, cache, args.key, chat)
    print(f"resolve again: {again} from cache ({len(cache.entries)} cached)")
    refused, error = resolve(console, cache, args.key, {**chat, "provider": {"only": ["nobody"]}})
    if refused != "refuse" or error.get("code") != "no_eligible_endpoint":
        return _fail(f"expected a refusal, got {refused} {error}")
    print(f"resolve with only=[nobody]: refused, {error['code']} ({error['constraints']})")
    events = [usage_event(args.account, args.key, chosen, "ok") for _ in range(3)]
    status, counts = report(console, args.ingest_key, events)
    if status != 200 or counts != {"accepted": 3, "duplicates": 0}:
        return _fail(f"usage: {status} {counts}")
    status, replay = report(console, args.ingest_key, events)
    if status != 200 or replay != {"accepted": 0, "duplicates": 3}:
        return _fail(f"usage replay: {status} {replay}")
    accepted, duplicates = counts["accepted"], replay["duplicates"]
    print(f"usage: {accepted} accepted; the same batch again: {duplicates} duplicates")
    print("gateway example: every step answered as the contract says")
    return 0


def _fail(message: str) -> int:
    print(f"gateway example failed: {message}", file=sys.stderr)
    return 1


def _arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--console", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True, help="an inference API key of the account")
    parser.add_argument("--ingest-key", required=True, help="a platform ingest key")
    parser.add_argument("--account", default="demo", help="the account's slug")
    parser.add_argument("--model", default="anthropic/claude-3.5-sonnet")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
