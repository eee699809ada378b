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


def _control_socket_for(address: str) -> str:
    """One control socket per instance: gunicorn's default path is the same for every instance
    on a machine, so `gunicornc` would reach (and a second instance take over) another's.
    Named after the bind address, which no two running instances share."""
    directory = os.environ.get("XDG_RUNTIME_DIR") or os.path.expanduser("~/.gunicorn")
    name = "".join(c if c.isalnum() or c in "-." else "_" for c in address)
    return os.path.join(directory, f"gunicorn-{name}.ctl")


control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or _control_socket_for(bind)


def post_worker_init(worker):
    """Compile the catalog before the first request, not during it, when the database allows.
    A failure here must not stop the worker (gunicorn would stop the whole master): the
    catalog then compiles on first use, and until the database is back the API answers 503."""
    from catalog.policy.snapshot import get_catalog

    try:
        get_catalog()
    except Exception as error:  # any failure: the worker must boot anyway
        worker.log.warning("catalog not compiled at boot (%s); compiling on first use", error)
