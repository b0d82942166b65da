"""Settings for the transcription portal.

One module, driven by environment variables with embedded defaults (the
healthchecks way). With no environment at all it runs on SQLite + the ORM
broker + local media under ``data/``; DATABASE_URL, REDIS_URL and the S3_*
variables switch it to the scale-out services. README lists every variable.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    """true/false (also 1/0, yes/no, on/off); anything else is a typo the operator must hear about:
    "ture" would otherwise silently mean false."""
    value = os.getenv(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (or 1/0, yes/no, on/off), not {value!r}.")


def envint(name: str, default: int) -> int:
    value = os.getenv(name, "")
    return int(value) if value.strip() else default


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


DATA_DIR = Path(os.getenv("DATA_DIR", BASE_DIR / "data"))
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = envbool("DEBUG", "false")
# `make run`: a server bound to loopback, reached over plain HTTP (no HTTPS redirect, no secure-only
# cookies), with DEBUG still off. Refused for any other BIND, so it cannot open plain HTTP to a network.
LOCAL_HTTP = envbool("LOCAL_HTTP", "false")
BIND = os.getenv("BIND", "127.0.0.1:8000")
if LOCAL_HTTP and BIND.rsplit(":", 1)[0].strip("[]") not in ("127.0.0.1", "localhost", "::1"):
    raise ImproperlyConfigured(f"LOCAL_HTTP is only for a server bound to loopback, but BIND is {BIND!r}. "
                               "Unset LOCAL_HTTP and serve HTTPS (see README, Production).")
# The site's name in page titles, the header and emails; empty: "Transcription portal", translated.
SITE_NAME = os.getenv("SITE_NAME", "")
# Scratch space of this node: media fetched from S3 for the model, export ZIPs being built.
# Files there are unlinked while open, so none outlives its process, however it ends.
SCRATCH_DIR = Path(os.getenv("SCRATCH_DIR", DATA_DIR / "scratch"))
SCRATCH_DIR.mkdir(parents=True, exist_ok=True)
# This node's name in worker names ("NODE:pid"), job pages and the ops page; default: the host name.
NODE_NAME = os.getenv("NODE_NAME", "")


def _secret_key() -> str:
    """A real key from the environment, or (only with DEBUG) one generated
    once into data/ and reused, so sessions survive restarts."""
    key = os.getenv("SECRET_KEY", "")
    if key:
        return key
    if not DEBUG and not LOCAL_HTTP and not envbool("ALLOW_GENERATED_SECRET_KEY", "false"):
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment "
            "(or LOCAL_HTTP=true for a local server on loopback, as `make run` does)."
        )
    path = DATA_DIR / "secret_key.txt"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
CSRF_FAILURE_VIEW = "portal.error_views.csrf_failure"
SITE_URL = os.getenv("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# HTTPS hardening: on by default when DEBUG is off; SECURE_SSL_REDIRECT=false
# for deployments behind a proxy that already redirects.
_https = not DEBUG and not LOCAL_HTTP
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", str(_https))
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", str(_https))
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", str(_https))
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000 if _https else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", str(_https))
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", str(_https))
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if envbool("USE_X_FORWARDED_PROTO", "false"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    # transcription before django_q: its `qcluster` command (prompt stop) replaces django-q2's.
    "portal",
    "transcription",
    "django_q",
    "rest_framework",
    "drf_spectacular",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "transcription.middleware.UploadSpoolCleanupMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.middleware.UserPreferencesMiddleware",
    "portal.middleware.DomainErrorMiddleware",
    # Last: turns a sign-in refused for too many failures into the lockout page (or JSON under /api/).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

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
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "portal.context_processors.site",
            ],
        },
    },
]

# --- database --------------------------------------------------------------
DATABASE_URL = os.getenv("DATABASE_URL", "")
# Web threads keep their database connection between requests: opening one costs more than a queue
# page's queries (PostgreSQL: a login; SQLite: reading the schema again).
DB_CONN_MAX_AGE = envint("DB_CONN_MAX_AGE", 60)
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=DB_CONN_MAX_AGE, conn_health_checks=True)
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.getenv("SQLITE_PATH", str(DATA_DIR / "db.sqlite3")),
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so two writers wait
                # on the busy timeout instead of failing with "database is locked"
                # half-way through a transaction.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
                ),
            },
            "CONN_MAX_AGE": DB_CONN_MAX_AGE,
            "CONN_HEALTH_CHECKS": True,
            "TEST": {"NAME": os.getenv("SQLITE_TEST_PATH") or None},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache -------------------------------------------------------------------
REDIS_URL = os.getenv("REDIS_URL", "")
# Throttle counts (API rates, password resets) live here, so they must be shared by every web
# process: Redis when REDIS_URL is set, else a table in the database (created after every migrate).
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "portal_cache"}}

# --- django-q2 ---------------------------------------------------------------
# Our Job table is the queue of record; django-q2 tasks only wake a worker,
# which then claims a job with an atomic UPDATE. So:
# - timeout: longest single task (one job) before django-q2 kills the worker;
#   a killed job is requeued by our reaper from its stale heartbeat.
# - retry > timeout, or the broker would redeliver a task that is still running.
# - max_attempts small: a redelivered wake-up that claims nothing is harmless,
#   and job-level attempts are counted on the Job row, not here.
# - ack_failures: failed tasks leave the broker instead of looping.
# - queue_limit 1: a worker holds one wake-up at a time, so work is not
#   hoarded by one node while another idles.
# - save_limit bounds the success history kept in the database.
# - Housekeeping (the stale-job reaper, webhook retries) runs as Schedules on
#   this cluster, created after every migrate; each wake-up also runs it before
#   claiming, so a long line of wake-ups in the broker cannot starve it.
Q_TIMEOUT = envint("Q_TIMEOUT", 4 * 3600)
Q_CLUSTER = {
    "name": os.getenv("Q_CLUSTER_NAME", "asr"),
    "workers": envint("ASR_WORKERS", 1),
    # Never recycle: wake-ups are hints that arrive by the hundred, and a worker
    # process holds its models (and its drain loop) for its whole life.
    "recycle": 0,
    "timeout": Q_TIMEOUT,
    "retry": Q_TIMEOUT + 600,
    "max_attempts": 2,
    "ack_failures": True,
    "queue_limit": 1,
    "save_limit": 1000,
    "catch_up": False,
    "label": "Task queue",
    "poll": 1,
    "guard_cycle": 1,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
# Outgoing calls (webhook deliveries, email) run on a queue of their own, served by a second
# cluster (`QCLUSTER_ROLE=outgoing manage.py qcluster`), never on an ASR worker or a web thread: a
# receiver that stalls holds one outgoing worker until its deadline and delays no transcription.
# (Code asks portal.outgoing.outgoing_queue() and wakeups.asr_cluster(), which read Q_CLUSTER's name
# when called; these two only set up this process's own cluster.)
Q_ASR_QUEUE = str(Q_CLUSTER["name"])
Q_OUTGOING_QUEUE = f"{Q_ASR_QUEUE}-outgoing"
OUTGOING_WORKERS = envint("OUTGOING_WORKERS", 4)
QCLUSTER_ROLE = os.getenv("QCLUSTER_ROLE", "asr").strip().lower()
if QCLUSTER_ROLE not in ("asr", "outgoing"):
    raise ImproperlyConfigured(f"QCLUSTER_ROLE must be 'asr' or 'outgoing', not {QCLUSTER_ROLE!r}.")
# A language-model request (insights) is one task however many sections a long transcript takes.
LLM_TASK_TIMEOUT_SECONDS = envint("LLM_TASK_TIMEOUT_SECONDS", 3600)
if QCLUSTER_ROLE == "outgoing":
    # Each task is one delivery or one email, bounded by its own deadline, or one language-model
    # request (each call bounded by LLM_TIMEOUT_SECONDS, leased); the timeout is a backstop.
    _outgoing_timeout = max(300, LLM_TASK_TIMEOUT_SECONDS)
    Q_CLUSTER.update({"cluster_name": Q_OUTGOING_QUEUE, "workers": OUTGOING_WORKERS, "timeout": _outgoing_timeout,
                      "retry": _outgoing_timeout + 60, "queue_limit": OUTGOING_WORKERS, "recycle": 500,
                      "label": "Outgoing"})

# --- storage -----------------------------------------------------------------
MEDIA_ROOT = Path(os.getenv("MEDIA_ROOT", DATA_DIR / "media"))
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.getenv("STATIC_ROOT", DATA_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]

S3_BUCKET = os.getenv("S3_BUCKET", "")
if S3_BUCKET:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": os.getenv("S3_ENDPOINT_URL") or None,
            "region_name": os.getenv("S3_REGION") or None,
            "access_key": os.getenv("S3_ACCESS_KEY") or None,
            "secret_key": os.getenv("S3_SECRET_KEY") or None,
            "location": os.getenv("S3_PREFIX", ""),
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": envint("S3_URL_EXPIRE_SECONDS", 600),
            "file_overwrite": False,
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


def _media_origins() -> list[str]:
    """Where the player fetches media from: S3 answers presigned URLs itself."""
    if not S3_BUCKET:
        return []
    endpoint = os.getenv("S3_ENDPOINT_URL", "")
    if not endpoint:
        return ["https://*.amazonaws.com"]
    scheme, _sep, rest = endpoint.partition("://")
    host = rest.split("/", 1)[0]
    return [f"{scheme}://{host}", f"{scheme}://*.{host}"]


# Content-Security-Policy on every response (django-csp): scripts, styles and everything else from
# this site only; nothing inline. CSP_MEDIA_ORIGINS adds origins the player may load media from
# (a CDN in front of S3, say); the S3 endpoint is added by itself.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "media-src": ["'self'", *_media_origins(), *envlist("CSP_MEDIA_ORIGINS")],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

MAX_UPLOAD_MB = envint("MAX_UPLOAD_MB", 2048)
# Uploads above 2.5 MB spool to a temporary file, never held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Files in one upload request (more: several requests, or a ZIP) and form fields in any request.
DATA_UPLOAD_MAX_NUMBER_FILES = envint("UPLOAD_MAX_FILES", 100)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
FILE_UPLOAD_TEMP_DIR = os.getenv("FILE_UPLOAD_TEMP_DIR") or None

# --- auth, i18n --------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "portal.inputs.PasswordCharactersValidator"},
]
# django-axes counts failed sign-ins (web, admin, API token) in the database: after
# LOGIN_FAILURE_LIMIT failures a client is locked out for LOGIN_LOCKOUT_MINUTES (staff can unlock
# in the admin). LOGIN_LOCKOUT_BY: commas separate alternatives, "+" combines fields.
# LOGIN_ADDRESS_FAILURE_LIMIT failures from one address, whatever the usernames, lock that address
# out for the same time (password spraying); 0 turns that off.
AUTHENTICATION_BACKENDS = ["portal.sign_in.SignInBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_ADDRESS_FAILURE_LIMIT = envint("LOGIN_ADDRESS_FAILURE_LIMIT", 30)
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [
    part if "+" not in part else [f.strip() for f in part.split("+") if f.strip()]
    for part in envlist("LOGIN_LOCKOUT_BY", "username+ip_address")
] or ["ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "portal.sign_in.lockout_response"
AXES_ENABLE_ADMIN = False  # portal/admin.py registers the attempts with an audited unlock action
AXES_VERBOSE = False
# Password reset requests per client address and per email address.
PASSWORD_RESET_RATE = os.getenv("PASSWORD_RESET_RATE", "5/hour")
# How long an emailed team invitation link works.
INVITATION_DAYS = envint("INVITATION_DAYS", 7)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = os.getenv("LANGUAGE_CODE", "en")
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# One date format on every page (portal/formats/<language>/formats.py).
FORMAT_MODULE_PATH = ["portal.formats"]
TIME_ZONE = os.getenv("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- email -------------------------------------------------------------------
# Every message is handed to the outgoing queue (portal/mail.py) and sent from there by
# EMAIL_BACKEND (the variable), so no request or ASR worker ever waits on a mail server.
EMAIL_BACKEND = "portal.mail.OutgoingQueueBackend"
EMAIL_DELIVERY_BACKEND = os.getenv("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 30)
EMAIL_HOST = os.getenv("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.getenv("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.getenv("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "false")
DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", "portal@localhost")

# --- ASR engine ----------------------------------------------------------------
ASR_MODEL = os.getenv("ASR_MODEL", "paraformer-zh")
ASR_VAD_MODEL = os.getenv("ASR_VAD_MODEL", "fsmn-vad")
ASR_PUNC_MODEL = os.getenv("ASR_PUNC_MODEL", "ct-punc")
ASR_SPK_MODEL = os.getenv("ASR_SPK_MODEL", "")
ASR_DEVICE = os.getenv("ASR_DEVICE", "auto")
ASR_WORKERS = envint("ASR_WORKERS", 1)
ASR_NCPU = envint("ASR_NCPU", max(1, (os.cpu_count() or 1) // max(1, ASR_WORKERS)))
ASR_BATCH_SECONDS = envint("ASR_BATCH_SECONDS", 120)
ASR_HUB = os.getenv("ASR_HUB", "ms")
# Model presets users choose per project or upload: "zh=paraformer-zh,en=paraformer-en;punc=ct-punc-c".
# Each is NAME=ASR_MODEL with optional ;vad=…;punc=…;lang=… (defaults: ASR_VAD_MODEL, ASR_PUNC_MODEL,
# the name as language). Empty: one preset, "default", from ASR_MODEL/ASR_VAD_MODEL/ASR_PUNC_MODEL.
# A Whisper model: "multi=whisper:large-v3-turbo;lang=auto" (or whisper:/a/CTranslate2/folder; ;task=translate).
ASR_PRESETS = os.getenv("ASR_PRESETS", "")
# Presets a worker process keeps loaded at once (the least recently used one is unloaded).
ASR_MAX_ENGINES = envint("ASR_MAX_ENGINES", 2)
ASR_VAD_IMPL = os.getenv("ASR_VAD_IMPL", "fast")  # fast | funasr
ASR_DTYPE = os.getenv("ASR_DTYPE", "fp32")  # fp32 | fp16 | bf16 (half precision on CUDA only)
# Check this node's models for /healthz, the ops page and the staff banner; off on web nodes that
# hold no models (their workers are elsewhere).
ASR_CHECK_MODELS = envbool("ASR_CHECK_MODELS", "true")
# Keep torch from initialising CUDA through the driver in forking parents.
os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")

# --- jobs ------------------------------------------------------------------
JOB_MAX_ATTEMPTS = envint("JOB_MAX_ATTEMPTS", 3)
JOB_HEARTBEAT_SECONDS = envint("JOB_HEARTBEAT_SECONDS", 5)
# A worker of another node (or a hung one) is given up after this long without a heartbeat: four
# missed beats. A dead worker process of this node is known at once (services/worker_names.py).
JOB_STALE_SECONDS = envint("JOB_STALE_SECONDS", 4 * JOB_HEARTBEAT_SECONDS)
# Fair share: recent service is the audio of jobs started in this window, plus those running.
QUEUE_FAIR_WINDOW_SECONDS = envint("QUEUE_FAIR_WINDOW_SECONDS", 3600)
# With at least this many jobs queued, queue positions and ETAs are worked out once per
# QUEUE_SNAPSHOT_SECONDS and shared (through the cache) by every page and API call.
QUEUE_SNAPSHOT_MIN_JOBS = envint("QUEUE_SNAPSHOT_MIN_JOBS", 100)
QUEUE_SNAPSHOT_SECONDS = envint("QUEUE_SNAPSHOT_SECONDS", 2)
# A worker claims up to this many compatible jobs, and this much audio, per engine call.
ASR_BATCH_JOBS = envint("ASR_BATCH_JOBS", 16)
ASR_BATCH_AUDIO_SECONDS = envint("ASR_BATCH_AUDIO_SECONDS", 900)
# While one batch is in the ASR model, fetch, decode and VAD the next one.
ASR_PREFETCH = envbool("ASR_PREFETCH", "true")
# qcluster worker processes drain the queue themselves (broker messages are only hints);
# when idle they look for work this often.
ASR_WORKER_LOOP = envbool("ASR_WORKER_LOOP", "true")
ASR_IDLE_POLL_SECONDS = float(os.getenv("ASR_IDLE_POLL_SECONDS", "0.5"))
# ZIP uploads: checked against the ZIP's directory before anything is extracted
# (zip bombs), and again while each member streams out.
ZIP_MAX_MEMBERS = envint("ZIP_MAX_MEMBERS", 1000)
ZIP_MAX_TOTAL_MB = envint("ZIP_MAX_TOTAL_MB", 10240)
ZIP_MAX_RATIO = envint("ZIP_MAX_RATIO", 200)
# Project exports up to this many transcripts are zipped in the request.
PROJECT_EXPORT_INLINE_MAX = envint("PROJECT_EXPORT_INLINE_MAX", 50)
# Webhooks: attempt n+1 waits WEBHOOK_RETRY_BASE_SECONDS * 4**(n-1). The timeout bounds a whole
# delivery (connect, every read, the body), however slowly the receiver trickles its answer.
WEBHOOK_TIMEOUT_SECONDS = envint("WEBHOOK_TIMEOUT_SECONDS", 10)
# At most this many deliveries of one team in flight at once, and this many webhooks per project.
WEBHOOK_TEAM_CONCURRENCY = envint("WEBHOOK_TEAM_CONCURRENCY", 2)
WEBHOOK_MAX_PER_PROJECT = envint("WEBHOOK_MAX_PER_PROJECT", 5)
WEBHOOK_MAX_ATTEMPTS = envint("WEBHOOK_MAX_ATTEMPTS", 6)
WEBHOOK_RETRY_BASE_SECONDS = envint("WEBHOOK_RETRY_BASE_SECONDS", 30)
# Webhooks never reach loopback, private, link-local, multicast or reserved addresses, except the
# host names, addresses and networks (CIDR) listed here: "hooks.internal,10.0.5.0/24".
WEBHOOK_ALLOWED_HOSTS = envlist("WEBHOOK_ALLOWED_HOSTS")

# --- Language-model insights (transcription/llm/) ----------------------------------
# Summaries, action items, chapters, questions through any OpenAI-compatible server (Ollama, vLLM,
# llama.cpp's server, OpenAI). Unset LLM_BASE_URL: the feature is off. The URL is the operator's
# alone (users never choose where a transcript is sent), so it may be an internal address; the key
# is never shown. Calls run on the outgoing queue, at most LLM_CONCURRENCY at once.
LLM_BASE_URL = os.getenv("LLM_BASE_URL", "").strip().rstrip("/")
LLM_API_KEY = os.getenv("LLM_API_KEY", "").strip()
LLM_MODEL = os.getenv("LLM_MODEL", "").strip()
# The model's context in tokens; 0: ask the server (vLLM, llama.cpp, Ollama say), else a safe default.
LLM_CONTEXT_TOKENS = envint("LLM_CONTEXT_TOKENS", 0)
LLM_TIMEOUT_SECONDS = envint("LLM_TIMEOUT_SECONDS", 300)
LLM_CONCURRENCY = envint("LLM_CONCURRENCY", 2)
# Attempts per model call on 429/5xx/timeouts; attempt n+1 waits LLM_RETRY_BASE_SECONDS * 4**(n-1).
LLM_MAX_ATTEMPTS = envint("LLM_MAX_ATTEMPTS", 3)
LLM_RETRY_BASE_SECONDS = float(os.getenv("LLM_RETRY_BASE_SECONDS", "2"))
# The most tokens one answer may have (a part's summary, a chapter list...).
LLM_MAX_OUTPUT_TOKENS = envint("LLM_MAX_OUTPUT_TOKENS", 1024)
# Optional monthly token budget per team (prompt + completion): a warning at 80 %, refused at 100 %.
LLM_TEAM_MONTHLY_TOKENS = envint("LLM_TEAM_MONTHLY_TOKENS", 0)

# --- HTTP API (api/) -----------------------------------------------------------
# Token auth first: its "Token" challenge makes anonymous requests 401, not 403.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "PAGE_SIZE": envint("API_PAGE_SIZE", 50),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    # ?format= is the export format on /transcripts/{id}/export/, not a renderer switch.
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_THROTTLE_RATES": {
        "api_token": os.getenv("API_TOKEN_RATE", "10/min"),
        "api_upload": os.getenv("API_UPLOAD_RATE", "60/hour"),
    },
    # Client IPs for throttling come from REMOTE_ADDR unless this many proxies
    # we trust sit in front (X-Forwarded-For is client-controlled otherwise).
    "NUM_PROXIES": envint("API_NUM_PROXIES", 0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Transcription portal API",
    "DESCRIPTION": (
        "Upload audio and video, follow transcription jobs, read, correct and export transcripts. "
        "Authenticate with `Authorization: Token <key>` (create keys under Settings → API tokens "
        "or with POST /api/v1/auth/token/). Errors are JSON `{\"detail\": \"...\"}`."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "api.schema.document_media_type_errors"],
    # validatorUrl None: Swagger UI would otherwise call validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "persistAuthorization": True, "validatorUrl": None},
    "ENUM_NAME_OVERRIDES": {"ReviewStatusEnum": "transcription.review_states.ReviewStatus",
                            "JobStatusEnum": "transcription.job_states.JobStatus"},
}

# --- logging -----------------------------------------------------------------
# A root handler is configured up front: funasr calls logging.basicConfig()
# on import, which is a no-op once the root logger has a handler.
LOG_LEVEL = os.getenv("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"queue_chatter": {"()": "portal.log_filters.DemoteQueueChatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "funasr": {"level": "WARNING"},
        "modelscope": {"level": "WARNING"},
        "numba": {"level": "WARNING"},
        # django-q2 logs each schedule run and wake-up at INFO: demoted to DEBUG (portal/log_filters.py).
        "django-q": {"filters": ["queue_chatter"]},
    },
}
