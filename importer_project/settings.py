"""Settings, read from the environment.

With no DATABASE_URL the app uses an embedded SQLite file; with no REDIS_URL
jobs run synchronously in-process. See docs/operations.md "Configuration".
"""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def redis_url_with_timeouts(url: str, seconds: float) -> str:
    """``url`` with redis-py's socket timeouts as query arguments (the only
    way django-rq passes them with a URL), unless the URL sets them."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("socket_connect_timeout", str(seconds))
    query.setdefault("socket_timeout", str(seconds))
    return urlunsplit(parts._replace(query=urlencode(query)))


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


DEBUG = env_bool("DEBUG", False)
# The built-in key is public (it is in this file): good for DEBUG=1 only.
# Without DEBUG every signed value (sessions, password reset links, CSRF)
# would be forgeable, so the service refuses to start (docs/security.md).
DEVELOPMENT_SECRET_KEY = "django-insecure-dev-only-key-set-SECRET_KEY-in-production"
SECRET_KEY_MISSING = (
    "SECRET_KEY is not set and DEBUG is off: set the SECRET_KEY environment variable to a long random "
    "value (python -c 'import secrets; print(secrets.token_urlsafe(50))'), or DEBUG=1 for development. "
    "The built-in development key is public and is refused in production."
)
SECRET_KEY = os.environ.get("SECRET_KEY") or DEVELOPMENT_SECRET_KEY
if not DEBUG and SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    raise ImproperlyConfigured(SECRET_KEY_MISSING)
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if h.strip()
]

# Production security (docs/security.md). HTTPS=1 when the site is served
# over TLS: redirect to https, secure-only cookies, HSTS; each can be
# overridden by its own variable. Ignored with DEBUG on (plain-http dev).
HTTPS = env_bool("HTTPS", False) and not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS) and not DEBUG
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", HTTPS) and not DEBUG
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", HTTPS) and not DEBUG
SECURE_HSTS_SECONDS = 0 if DEBUG else env_int("SECURE_HSTS_SECONDS", 31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    # Only behind a proxy that sets (and strips from clients) X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # runserver serves static files through whitenoise too, as in production.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_rq",
    "django_filters",
    "django_prometheus",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "common",
    "core",
    "ingest",
    "runs",
    "dq",
    "demo",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (docs/deployment.md): right after SecurityMiddleware, as
    # whitenoise's docs ask, so they skip the session and CSRF work below.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "importer_project.middleware.APINotFoundMiddleware",
    "importer_project.middleware.APITrailingSlashMiddleware",
    "importer_project.middleware.QueryNulMiddleware",
    "importer_project.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "importer_project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "importer_project.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the admin read while an import writes; the timeout lets a
    # second writer wait for the first instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

# Query and connection metrics on /metrics: django-prometheus's wrappers of
# the same backends (same vendor, features and options).
DATABASES["default"]["ENGINE"] = {
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
    "django.db.backends.postgresql": "django_prometheus.db.backends.postgresql",
}.get(DATABASES["default"]["ENGINE"], DATABASES["default"]["ENGINE"])

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login throttling (django-axes, docs/security.md): after
# IMPORTER_LOGIN_FAILURE_LIMIT wrong passwords for one username from one IP
# address, logins for that pair are refused for IMPORTER_LOGIN_COOLOFF_MINUTES
# (each further try restarts the wait). Covers every session login (the
# admin's form); API tokens are not logins. Counts live in the database, so
# every web process and machine shares them.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("IMPORTER_LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("IMPORTER_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "importer_project.login_lockout.login_locked"

LANGUAGE_CODE = "en-us"
# The admin shows times in this zone (stored in UTC); e.g. TIME_ZONE=Europe/Berlin.
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
# Static files are served by the web processes themselves (whitenoise, see
# docs/deployment.md). With DEBUG off they are the files `collectstatic` put
# in STATIC_ROOT, named by their content's hash and compressed, so browsers
# can cache them for ever; with DEBUG on, the apps' own files, no
# collectstatic needed. (The tests run with DEBUG off and switch back to
# Django's plain storage in tests/conftest.py.)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

# Upload limits. Files bigger than FILE_UPLOAD_MAX_MEMORY_SIZE stream to disk.
IMPORTER_MAX_UPLOAD_BYTES = env_int("IMPORTER_MAX_UPLOAD_BYTES", 512 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# An upload whose columns wait to be matched to the target's fields (the
# upload form's second step, runs/staging.py) is kept this long, then deleted.
IMPORTER_STAGED_UPLOAD_SECONDS = env_int("IMPORTER_STAGED_UPLOAD_SECONDS", 3600)

# Rows per transaction in the import pipeline.
IMPORTER_CHUNK_SIZE = env_int("IMPORTER_CHUNK_SIZE", 2000)
# The row engine (issue 22): "columns" takes a chunk of new records column
# by column (polars) and every other chunk row by row; "rows" takes every
# chunk row by row. Both write exactly the same
# (tests/ingest/test_engine_parity.py); docs/performance.md has the figures.
IMPORTER_ENGINES = ("rows", "columns")
IMPORTER_ENGINE = os.environ.get("IMPORTER_ENGINE", "columns")
if IMPORTER_ENGINE not in IMPORTER_ENGINES:
    raise ImproperlyConfigured(
        f'IMPORTER_ENGINE must be "rows" or "columns", not {IMPORTER_ENGINE!r}'
    )
# A single field longer than this quarantines its row instead of being read.
IMPORTER_MAX_FIELD_CHARS = env_int("IMPORTER_MAX_FIELD_CHARS", 1_000_000)
# A file with more malformed rows than this, and more than half of the rows
# read so far, fails (one message naming where the damage starts) instead
# of quarantining each row.
IMPORTER_MAX_MALFORMED_ROWS = env_int("IMPORTER_MAX_MALFORMED_ROWS", 1000)
# A timestamp (updated_at) later than now plus this many seconds is
# out_of_range: a far-future time would win survivorship forever.
IMPORTER_MAX_FUTURE_SKEW = env_int("IMPORTER_MAX_FUTURE_SKEW", 86400)

# DQ: days an audit row keeps its payload values (purge_remediation_audit).
DQ_AUDIT_RETENTION_DAYS = env_int("DQ_AUDIT_RETENTION_DAYS", 90)

# Retention of personal data (manage.py purge_personal_data, run from cron;
# docs/operations.md "Retention of personal data"): days after a run finished that its
# uploaded file and its results file are kept, and days after a violation
# was resolved or ignored (or its dry run made it) that its payload values are.
IMPORTER_RETAIN_UPLOADS_DAYS = env_int("IMPORTER_RETAIN_UPLOADS_DAYS", 90)
IMPORTER_RETAIN_RESULTS_DAYS = env_int("IMPORTER_RETAIN_RESULTS_DAYS", 90)
IMPORTER_RETAIN_RESOLVED_PAYLOADS_DAYS = env_int("IMPORTER_RETAIN_RESOLVED_PAYLOADS_DAYS", 90)

# Jobs. With REDIS_URL they go on RQ's queue for the workers. Without it
# (IMPORTER_SYNC_JOBS: no RQ) they run in this process (runs/execution/inprocess.py):
# IMPORTER_JOBS "thread" (the default) runs them on a background thread of a
# web process, so a request never waits for its import, and in the caller
# in a management command; "sync" always in the caller (the tests).
REDIS_URL = os.environ.get("REDIS_URL", "")
IMPORTER_SYNC_JOBS = not REDIS_URL
IMPORTER_JOBS = "rq" if REDIS_URL else os.environ.get("IMPORTER_JOBS", "thread")
if IMPORTER_JOBS not in ("rq", "thread", "sync") or (IMPORTER_JOBS == "rq" and not REDIS_URL):
    raise ImproperlyConfigured('IMPORTER_JOBS must be "thread" or "sync" (without REDIS_URL)')
# One Redis connection setup for everything that talks to the queue (jobs,
# /metrics's queue gauges, the reconciler): django-rq's, from RQ_QUEUES. Its
# short socket timeouts make a Redis that hangs fail a request or a scrape
# quickly; RQ workers raise the read timeout of their own connection above
# their blocking wait for jobs.
IMPORTER_REDIS_TIMEOUT_S = float(os.environ.get("IMPORTER_REDIS_TIMEOUT_S") or 2)
RQ_QUEUES = {
    "imports": {
        "URL": redis_url_with_timeouts(
            REDIS_URL or "redis://127.0.0.1:6379/0", IMPORTER_REDIS_TIMEOUT_S
        ),
        "DEFAULT_TIMEOUT": env_int("IMPORTER_JOB_TIMEOUT", 6 * 3600),
        "ASYNC": not IMPORTER_SYNC_JOBS,
    },
}

# Crash safety and scale-out (docs/operations.md).
# A running run's worker writes a heartbeat this often; the reconciler gives
# up on it after IMPORTER_STALE_SECONDS and resumes it from its checkpoint,
# at most IMPORTER_MAX_ATTEMPTS times. Workers reconcile every
# IMPORTER_RECONCILE_SECONDS. Files of IMPORTER_PARTITION_MIN_BYTES or more
# are split into IMPORTER_PARTITIONS partition jobs (by external id).
IMPORTER_HEARTBEAT_SECONDS = env_int("IMPORTER_HEARTBEAT_SECONDS", 10)
IMPORTER_STALE_SECONDS = env_int("IMPORTER_STALE_SECONDS", 60)
IMPORTER_RECONCILE_SECONDS = env_int("IMPORTER_RECONCILE_SECONDS", 30)
IMPORTER_MAX_ATTEMPTS = env_int("IMPORTER_MAX_ATTEMPTS", 3)
IMPORTER_PARTITIONS = env_int("IMPORTER_PARTITIONS", 4)
IMPORTER_PARTITION_MIN_BYTES = env_int("IMPORTER_PARTITION_MIN_BYTES", 32 * 1024 * 1024)

# One JSON object per log line (python-json-logger, with the field names and
# redaction of importer_project/logging.py): run state
# changes carry run id, target, source, counts and durations as fields.
# Values of these query parameters (the admin's search q=, fields that hold
# personal data) are logged as [redacted]: by every handler here, runserver's
# request lines (django.server) included. docs/security.md.
IMPORTER_LOG_REDACT_PARAMS = [
    name.strip().lower()
    for name in os.environ.get(
        "IMPORTER_LOG_REDACT_PARAMS", "q,search,email,phone,name,first_name,last_name"
    ).split(",")
    if name.strip()
]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_query": {"()": "importer_project.logging.RedactQueryFilter"}},
    "formatters": {
        "json": {"()": "importer_project.logging.JsonFormatter"},
        # Django's own runserver format, kept for the request lines.
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["redact_query"],
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact_query"],
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "rq.worker": {"level": os.environ.get("RQ_LOG_LEVEL", "WARNING")},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}

# Prometheus. With PROMETHEUS_MULTIPROC_DIR set in the environment (before
# any process starts: prometheus_client reads it when it is imported), every
# process (web, RQ workers and their work horses) writes its metrics there and
# /metrics sums them: set it whenever jobs run in other processes (REDIS_URL).
# Unset: this process's metrics only. docs/deployment.md, runs/scrape.py.
PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if PROMETHEUS_MULTIPROC_DIR:
    if not os.path.isabs(PROMETHEUS_MULTIPROC_DIR):
        # Processes started from other directories would write elsewhere.
        raise ImproperlyConfigured("PROMETHEUS_MULTIPROC_DIR must be an absolute path")
    os.makedirs(PROMETHEUS_MULTIPROC_DIR, exist_ok=True)
# /metrics's database reads give up after this many seconds (a locked table
# must not hold the scrape): importer_telemetry_up{part="database"} is then 0.
IMPORTER_TELEMETRY_DB_TIMEOUT_S = float(os.environ.get("IMPORTER_TELEMETRY_DB_TIMEOUT_S") or 2)
# Sources beyond the first N (by creation) share the metric label "other".
IMPORTER_METRICS_MAX_SOURCES = env_int("IMPORTER_METRICS_MAX_SOURCES", 50)

# Recorded on every run so a replay can tell which code made its decisions.
IMPORTER_CODE_VERSION = (
    os.environ.get("IMPORTER_CODE_VERSION") or __import__("importer_project").__version__
)
# COMMIT_MODE auto: run_enqueue already waits for the commit (on_commit), so
# django-rq must enqueue at once and hand back the job.
RQ = {"WORKER_CLASS": "runs.execution.worker.ImportWorker", "COMMIT_MODE": "auto"}
# django-rq's queue pages need Redis: show them only when there is one.
RQ_SHOW_ADMIN_LINK = not IMPORTER_SYNC_JOBS

# REST API (/api/v1/): tokens for integrations, sessions (with CSRF) for the
# browser; model permissions decide who reaches what.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["common.api.ModelPermissions"],
    "DEFAULT_PAGINATION_CLASS": "common.api.CursorPagination",
    "EXCEPTION_HANDLER": "common.api_errors.exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "common.api_schema.ImporterAutoSchema",
    # Parsers that refuse a body by its Content-Length before reading it.
    "DEFAULT_PARSER_CLASSES": [
        "common.api.BoundedJSONParser",
        "common.api.BoundedFormParser",
        "common.api.BoundedMultiPartParser",
    ],
    # Uploads per user (or client IP): ScopedRateThrottle on POST runs/.
    "DEFAULT_THROTTLE_RATES": {"uploads": os.environ.get("IMPORTER_UPLOAD_RATE", "60/minute")},
}
# The throttle counts in the default cache: with REDIS_URL, Redis, so every
# web process (on every machine) counts the same uploads; without it, each
# process counts its own (fine for the embedded single-process mode).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "importer",
            # A Redis that hangs fails fast (common.cache) instead
            # of holding the request.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "Importer API",
    "DESCRIPTION": "Upload files of records, watch runs, fix quarantined rows.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No calls to validator.swagger.io: the docs work with no outside network.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Tags from the first path segment after the prefix: runs, violations, targets, …
    "SCHEMA_PATH_PREFIX": r"/api/v1/",
    "COMPONENT_SPLIT_REQUEST": True,
}

# Runs and violations both have a "status" choice set: name their schema
# enums, or drf-spectacular warns and `check --deploy --fail-level WARNING`
# (make check-deploy) fails.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "ImportRunStatusEnum": "runs.models.ImportRun.Status",
        "ViolationStatusEnum": "dq.models.Violation.Status",
    }
)
