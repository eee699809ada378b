"""Settings for the AnyAPI privacy console, driven by environment variables.

With nothing set, the console runs on the embedded default: SQLite under var/,
tasks executed in-process, a local-memory cache. Every variable is listed in
deploy/.env.example and the README.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name)
    if not value:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    try:
        return int(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def env_float(name: str, default: float) -> float:
    value = env_str(name)
    try:
        return float(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_int_list(name: str) -> list[int]:
    try:
        return [int(item) for item in env_list(name)]
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be comma-separated integers") from None


DEBUG = env_bool("DEBUG", default=True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-for-debug-mode"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "core",
    "dashboard",
    "catalog",
    "usage",
]

MIDDLEWARE = [
    "core.middleware.ApiErrorsAsJson",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "core.middleware.NoStoreWhenSignedIn",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.context_processors.navigation",
                "dashboard.context_processors.legal_links",
            ],
        },
    },
]

# --- Database: SQLite under var/ unless DATABASE_URL names another one.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    VAR_DIR.mkdir(exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "console.sqlite3",
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;"},
            # A file, not Django's in-memory default: the browser tests' live server answers
            # the activity page's cards in parallel threads, and an in-memory database is one
            # connection shared by all of them. One file per test process, so two test runs
            # in one checkout never share it.
            "TEST": {"NAME": VAR_DIR / f"test-console-{os.getpid()}.sqlite3"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery: Redis when REDIS_URL is set, in-process otherwise.
REDIS_URL = env_str("REDIS_URL")
CACHE_URL = env_str("CACHE_URL", REDIS_URL)  # a separate Redis database for the cache, if wanted
# Redis errors read as cache misses (core/cache.py): the cache is never why a request fails, and
# short timeouts keep an outage from stalling requests.
REDIS_CACHE = {
    "BACKEND": "core.cache.ResilientRedisCache",
    "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
}
if CACHE_URL:
    CACHES = {
        "default": {
            **REDIS_CACHE,
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "console"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = timedelta(hours=1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A web request that enqueues gives up on an unreachable broker quickly; the task waits in the
# outbox (core/outbox.py) and is sent again, so giving up loses nothing.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {
        "task": "dashboard.tasks.record_worker_heartbeat",
        "schedule": timedelta(seconds=30),
    },
    # Each source has its own jittered time (default every 12 hours); this looks for due ones.
    "refresh-due-sources": {
        "task": "catalog.tasks.refresh_due_sources",
        "schedule": timedelta(minutes=5),
    },
    # Tasks an unreachable broker refused wait in the outbox (core/outbox.py) until this.
    "send-outbox": {"task": "core.tasks.send_outbox", "schedule": timedelta(minutes=1)},
    "purge-login-attempts": {
        "task": "dashboard.tasks.purge_login_attempts",
        "schedule": timedelta(hours=1),
    },
    "purge-snapshots": {
        "task": "catalog.tasks.purge_snapshots",
        "schedule": timedelta(days=1),
    },
    # Expires time-boxed provider exceptions and warns a day before; expiry itself is never late
    # (the privacy cache lives no longer than the first exception), this tells the owners.
    "expire-exceptions": {
        "task": "dashboard.tasks.expire_exceptions",
        "schedule": timedelta(minutes=5),
    },
    # Raw usage events: create the coming days' partitions, drop those past retention.
    "maintain-usage-partitions": {
        "task": "usage.tasks.maintain_partitions",
        "schedule": timedelta(hours=1),
    },
    # Yesterday's anonymous model rankings (idempotent: a day's rows are replaced).
    "compute-model-rankings": {
        "task": "usage.tasks.compute_rankings",
        "schedule": timedelta(hours=1),
    },
    # Closed privacy inquiries past INQUIRY_RETENTION_DAYS are deleted.
    "purge-closed-inquiries": {
        "task": "dashboard.tasks.purge_closed_inquiries",
        "schedule": timedelta(hours=6),
    },
    # Owners are reminded to review their privacy settings: periodically, and within the hour
    # when a new provider or a catalog change alters what their settings allow.
    "remind-settings-reviews": {
        "task": "dashboard.tasks.remind_settings_reviews",
        "schedule": timedelta(hours=1),
    },
}
WORKER_HEARTBEAT_MAX_AGE = timedelta(seconds=90)

# --- Accounts and sign-in.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 15 * 60)
INVITATION_MAX_AGE = timedelta(days=7)
PRIVACY_TEAM_GROUP = "privacy-team"

EMAIL_BACKEND_PATH = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH}}
if EMAIL_BACKEND_PATH.endswith("smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = {
        "host": env_str("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 587),
        "username": env_str("EMAIL_HOST_USER"),
        "password": env_str("EMAIL_HOST_PASSWORD"),
        "use_tls": env_bool("EMAIL_USE_TLS", default=True),
    }
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "AnyAPI Privacy <privacy@localhost>")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

# --- Static files, built by `make` (Chart.js from npm) and served by WhiteNoise.
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = DEBUG  # in development, serve straight from static/ without collectstatic
if DEBUG:
    STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Security: a strict CSP with no third-party origin and no inline script.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # The header alone commits nothing; a domain joins browsers' lists only when submitted.
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)

# Only these hosts may be fetched on private, loopback or link-local addresses.
FETCH_ALLOW_PRIVATE_HOSTS = env_list("FETCH_ALLOW_PRIVATE_HOSTS")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # httpx logs every request at INFO; the policy fetcher's own records say what matters.
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}

# How many reverse proxies in front of the console append to X-Forwarded-For. The client's
# address is the entry that many places from the right: entries to its left are whatever the
# client sent. 0 trusts no header and uses the connection's address. USE_X_FORWARDED_FOR=1 is
# the older spelling of one proxy.
TRUSTED_PROXY_COUNT = env_int(
    "TRUSTED_PROXY_COUNT", 1 if env_bool("USE_X_FORWARDED_FOR", default=False) else 0
)

# How often a process asks the shared cache whether the catalog changed (seconds). A policy
# approval reaches every resolver within this time.
CATALOG_VERSION_CHECK_SECONDS = env_float("CATALOG_VERSION_CHECK_SECONDS", 1)

# Policy refresh: extra ports the fetcher may use (80/443 always), failures in a row before a
# "source failing" item opens, and how long raw snapshots are kept.
FETCH_ALLOWED_PORTS = env_int_list("FETCH_ALLOWED_PORTS")
SOURCE_FAILURES_BEFORE_ALERT = env_int("SOURCE_FAILURES_BEFORE_ALERT", 3)
SNAPSHOT_RETENTION_DAYS = env_int("SNAPSHOT_RETENTION_DAYS", 365)
REFRESH_CONCURRENCY = env_int("REFRESH_CONCURRENCY", 50)  # hosts fetched at once per run
REFRESH_RETRIES = env_int("REFRESH_RETRIES", 2)
REFRESH_BACKOFF_SECONDS = env_float("REFRESH_BACKOFF_SECONDS", 1)

# How long each process keeps API keys and privacy layers it has read from the shared cache
# (seconds). A revocation or settings change made elsewhere takes effect within this time.
HOT_CACHE_SECONDS = env_float("HOT_CACHE_SECONDS", 2)

# Usage metadata: raw events are kept this many days (whole daily partitions are dropped; the
# hourly and daily rollups stay), partitions are created this many days ahead, and a model
# appears in the public rankings for a day only when at least this many accounts used it.
USAGE_RAW_RETENTION_DAYS = env_int("USAGE_RAW_RETENTION_DAYS", 30)
USAGE_PARTITIONS_AHEAD_DAYS = env_int("USAGE_PARTITIONS_AHEAD_DAYS", 3)
USAGE_RANKING_MIN_ACCOUNTS = env_int("USAGE_RANKING_MIN_ACCOUNTS", 5)

# Privacy inquiries: closed ones are deleted this many days after closing. Owners are reminded
# to review their privacy settings this many days after the last review.
INQUIRY_RETENTION_DAYS = env_int("INQUIRY_RETENTION_DAYS", 365)
PRIVACY_REVIEW_INTERVAL_DAYS = env_int("PRIVACY_REVIEW_INTERVAL_DAYS", 90)

# AnyAPI's legal pages, linked from every page's footer.
PRIVACY_POLICY_URL = env_str("PRIVACY_POLICY_URL", "https://anyapi.ai/privacy")
TERMS_OF_SERVICE_URL = env_str("TERMS_OF_SERVICE_URL", "https://anyapi.ai/terms")
