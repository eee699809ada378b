"""gunicorn settings; each can be overridden by the environment variable named beside it."""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak can never take a process down; rarely, because a
# new worker first compiles the catalog.
max_requests = 200_000
max_requests_jitter = 20_000
accesslog = "-"
# Query strings are left out of the access log: the log holds metadata only.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    """Compile the catalog before the first request, not during it."""
    from catalog.policy.snapshot import get_catalog

    get_catalog()
