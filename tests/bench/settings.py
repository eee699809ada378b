"""The production settings plus one URL, for the HTTP benchmarks only: gunicorn serves the real
API and a bare JSON view side by side, so both are measured on the same server in one run."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.bench.urls"
