"""deploy/gateway_example.py, run as a gateway would run it, against a live console."""

import subprocess
import sys

import pytest

from catalog.catalog_file import parse_catalog
from catalog.loader import Loader
from dashboard.models import ApiKey
from tests.catalog.conftest import SMALL_CATALOG
from usage.models import UsageEvent

pytestmark = pytest.mark.xdist_group("live-server")


def test_the_gateway_example_resolves_routes_refuses_and_reports_usage(
    transactional_db, live_server, personas
):
    Loader().load(parse_catalog(SMALL_CATALOG))
    inference = ApiKey.issue(name="gateway", account=personas.account)[1]
    ingest = ApiKey.issue(name="ingest", kind=ApiKey.Kind.INGEST)[1]
    run = subprocess.run(
        [
            sys.executable,
            "deploy/gateway_example.py",
            *("--console", live_server.url, "--key", inference, "--ingest-key", ingest),
            *("--account", personas.account.slug, "--model", "acme/chat"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("resolve: acme/chat -> acme/chat@month-ai")
    assert "ignored ['provider.sort']" in lines[0]
    assert lines[1] == "resolve again: route from cache (1 cached)"
    assert "no_eligible_endpoint" in lines[2]
    assert lines[3] == "usage: 3 accepted; the same batch again: 3 duplicates"
    assert UsageEvent.objects.filter(account=personas.account).count() == 3
