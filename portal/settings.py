"""Settings, read from the environment (see .env.example for production)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

from portal import devservices
from portal.logs import JSON_FORMATTER, PERSONAL_NUMBER_FILTER

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():  # a deployment may pass every setting as a variable instead
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=True)
TESTING = env.bool("PORTAL_TESTING", default=False)

if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-secret-key-not-for-production-use-0123456789")
else:
    SECRET_KEY = env.str("SECRET_KEY")  # required: fails loudly when missing

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[".localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# An expired form gets the portal's own page with a way back (templates/403_csrf.html).
CSRF_FAILURE_VIEW = "portal.views.csrf_failure"

# Keys for personal data. ID numbers are encrypted with the first of PII_ENCRYPTION_KEYS (Fernet keys,
# comma-separated, newest first; older keys still decrypt until `manage.py rotate_pii_key` has run)
# and found by an HMAC under PII_HASH_KEY, which must never change once data exists. The development
# keys below serve only the embedded PostgreSQL of portal.devservices (a checkout's own data, whatever
# DEBUG says); any other database needs keys of its own and refuses to start with these.
_DEV_FERNET_KEY = "ZGV2LW9ubHktcGlpLWtleS1ub3QtZm9yLXByb2R1Y3Q="
_DEV_PII_HASH_KEY = "dev-only-pii-hash-key"
EMBEDDED_DATABASE = devservices.is_embedded_database(env.str("DATABASE_URL", default=""))
if EMBEDDED_DATABASE:
    PII_ENCRYPTION_KEYS = env.list("PII_ENCRYPTION_KEYS", default=[_DEV_FERNET_KEY])
    PII_HASH_KEY = env.str("PII_HASH_KEY", default=_DEV_PII_HASH_KEY)
else:
    PII_ENCRYPTION_KEYS = env.list("PII_ENCRYPTION_KEYS")
    PII_HASH_KEY = env.str("PII_HASH_KEY")
    if _DEV_FERNET_KEY in PII_ENCRYPTION_KEYS or PII_HASH_KEY == _DEV_PII_HASH_KEY:
        raise environ.ImproperlyConfigured(
            "PII_ENCRYPTION_KEYS / PII_HASH_KEY hold a development key, which serves only the embedded "
            "database: give this database keys of its own"
        )

INSTALLED_APPS = [
    "portal.apps.PortalConfig",
    "members.apps.MembersConfig",
    "merchants.apps.MerchantsConfig",
    "discounts.apps.DiscountsConfig",
    "notifications.apps.NotificationsConfig",
    "stats.apps.StatsConfig",
    "cities.apps.CitiesConfig",
    "webhooks.apps.WebhooksConfig",
    "funds.apps.FundsConfig",
    "shop.apps.ShopConfig",
    "settlement.apps.SettlementConfig",
    "banking.apps.BankingConfig",
    "allowances.apps.AllowancesConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from our own static files
    "axes",
]

MIDDLEWARE = [
    "portal.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.middleware.SecurityHeadersMiddleware",
    "portal.middleware.RejectNulBytesMiddleware",
    "portal.middleware.ApiMissingSlashMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "cities.middleware.CitySiteMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
AUTH_USER_MODEL = "portal.User"

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
                "portal.context_processors.portal",
                "members.context_processors.member_inbox",
                "notifications.context_processors.inbox",
                "cities.context_processors.city_site",
            ],
        },
    },
]

# --- Services ---------------------------------------------------------------------------------
# Without DATABASE_URL / REDIS_URL (development, tests) the embedded services under ./var start.
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db_url("DATABASE_URL")}
elif DEBUG:
    DATABASES = {"default": env.db_url_config(devservices.ensure_postgres())}
else:
    raise environ.ImproperlyConfigured("DATABASE_URL is required when DJANGO_DEBUG is false")
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
# A persistent connection is checked before each request uses it (a PostgreSQL restart must not cost
# a failed request); portal.db checks its socket instead of sending SELECT 1.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "portal.db"
DATABASES["default"].setdefault("OPTIONS", {})
# Parameters travel apart from the SQL (server-side binding), and a statement a connection has run
# DB_PREPARE_THRESHOLD times is prepared: PostgreSQL stops parsing and planning the queries of every
# POS request anew. Behind a pooler in transaction mode that cannot keep prepared statements
# (PgBouncer before 1.21), set DB_PREPARE_THRESHOLD=0.
DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
DATABASES["default"]["OPTIONS"].setdefault(
    "prepare_threshold", env.int("DB_PREPARE_THRESHOLD", default=5) or None
)
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="") or None}

if env.str("REDIS_URL", default=""):
    REDIS_URL = env.str("REDIS_URL")
elif DEBUG:
    REDIS_URL = devservices.ensure_redis()
else:
    raise environ.ImproperlyConfigured("REDIS_URL is required when DJANGO_DEBUG is false")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="portal"),
        "TIMEOUT": 300,
        # Redis is never needed to serve a page or a redemption: give up quickly when it is down.
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}

# --- Celery -------------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL.replace("unix://", "redis+socket://", 1)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=180)
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="portal")
# Chunks take seconds; a task not acknowledged within an hour is redelivered.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 1}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "coverage-snapshot-nightly": {
        "task": "portal.tasks.coverage_snapshot_nightly",
        "schedule": crontab(hour=1, minute=30),
    },
    "purge-idempotency-records": {
        "task": "discounts.tasks.purge_idempotency_records",
        "schedule": timedelta(hours=1),
    },
    "purge-orphan-pictures": {
        "task": "discounts.tasks.purge_orphan_pictures",
        "schedule": crontab(hour=3, minute=40),
    },
    "purge-one-time-codes": {
        "task": "members.tasks.purge_one_time_codes",
        "schedule": timedelta(hours=1),
    },
    "purge-bank-files": {
        "task": "members.tasks.purge_bank_files",
        "schedule": crontab(hour=2, minute=30),
    },
    "purge-application-files": {
        "task": "members.tasks.purge_application_files",
        "schedule": crontab(hour=2, minute=40),
    },
    "purge-member-api-tokens": {
        "task": "members.tasks.purge_member_api_tokens",
        "schedule": timedelta(hours=6),
    },
    "notifications-resend-stalled": {
        "task": "notifications.tasks.resend_stalled_deliveries",
        "schedule": timedelta(minutes=10),
    },
    "notifications-purge-read": {
        "task": "notifications.tasks.purge_read_notifications",
        "schedule": crontab(hour=3, minute=10),
    },
    "requeue-stuck-batches": {
        "task": "members.tasks.requeue_stuck_batches",
        "schedule": timedelta(minutes=5),
    },
    "webhooks-collect-redemption-events": {
        "task": "webhooks.tasks.collect_redemption_events",
        "schedule": timedelta(seconds=5),
        "options": {"expires": 15},  # a run stuck in a queue is dropped: the next one reads the same rows
    },
    "webhooks-send-due-deliveries": {
        "task": "webhooks.tasks.send_due_deliveries",
        "schedule": timedelta(minutes=1),
    },
    "webhooks-purge-old-events": {
        "task": "webhooks.tasks.purge_old_events",
        "schedule": crontab(hour=3, minute=20),
    },
    "banking-card-changes-nightly": {
        "task": "banking.tasks.card_changes_export_nightly",
        "schedule": crontab(hour=0, minute=30),
    },
    "banking-requeue-stuck-files": {
        "task": "banking.tasks.requeue_stuck_files",
        "schedule": timedelta(minutes=10),
    },
    # The statements of the month just over, as the system (docs/settlement.md); idempotent.
    "settlement-prepare-last-month": {
        "task": "settlement.tasks.prepare_last_month",
        "schedule": crontab(day_of_month="1", hour=2, minute=0),
    },
    # Shop reservations not collected in time give their stock back (docs/shop.md); idempotent.
    "shop-expire-orders": {
        "task": "shop.tasks.expire_orders",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 240},
    },
}

# --- Authentication -----------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "merchants:login"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "portal/locked_out.html"
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)

SESSION_ENGINE = "django.contrib.sessions.backends.db"  # sessions must not depend on Redis
SESSION_COOKIE_AGE = 60 * 60 * 12
# Members stay signed in on their phone this long unless they sign out (members.auth.member_sign_in).
MEMBER_SESSION_AGE = env.int("MEMBER_SESSION_DAYS", default=30) * 24 * 60 * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files --------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "portal" / "static"]
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media/"  # never served publicly: downloads go through permission-checked views
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# A batch of the most rows allowed must fit: a million-row CSV of the template is 55–75 MB.
ISSUANCE_UPLOAD_MAX_BYTES = env.int("ISSUANCE_UPLOAD_MAX_BYTES", default=100 * 1024 * 1024)
ISSUANCE_UPLOAD_MAX_ROWS = env.int("ISSUANCE_UPLOAD_MAX_ROWS", default=1_000_000)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- REST API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["portal.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.exception_handler",
    "PAGE_SIZE": 20,
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Union membership-card benefits portal API",
    "DESCRIPTION": (
        "POS API for partner merchants (Authorization: Api-Key <key>), the member app API and the "
        'staff statistics API. Every error is {"error": {"code", "message", "fields"?}}.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Unions run on intranets: the interactive docs load nothing from another host.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.api.document_errors_and_headers",
        "discounts.api.common.document_pos_links",
    ],
    # Where the API is served; generated clients and schema tools read it (relative: this host).
    "SERVERS": [{"url": env.str("API_SERVER_URL", default="/"), "description": "This portal"}],
    # Fields named alike in several apps ("kind", "status") get a name of their own in the schema.
    "ENUM_NAME_OVERRIDES": {
        "OfferKindEnum": "discounts.models.Offer.Kind",
        "RedemptionStatusEnum": "discounts.models.Redemption.Status",
        "StatementStatusEnum": "settlement.models.Statement.Status",
    },
}
POS_RATE_LIMIT_PER_MINUTE = env.int("POS_RATE_LIMIT_PER_MINUTE", default=600)
# Seconds a web process trusts what it last read of a POS key (merchants.apikeys): a revoked key or a
# suspended merchant is refused by every process within them. 0 reads the key on every request.
POS_KEY_CACHE_SECONDS = env.int("POS_KEY_CACHE_SECONDS", default=5)

# --- Members' one-time codes and card tokens -----------------------------------------------------
SMS_BACKEND = env.str("SMS_BACKEND", default="notifications.backends.sms.ConsoleSmsBackend")
OTP_TTL = timedelta(minutes=5)
OTP_MAX_ATTEMPTS = 5
# A phone is slowed, never shut: the wait (seconds) before its next code grows with the codes sent to
# it in the last hour. Requests and wrong guesses are limited per address (docs/hardening.md).
OTP_RESEND_INTERVALS = tuple(env.list("OTP_RESEND_INTERVALS", cast=int, default=[60, 60, 120, 300, 600]))
OTP_PER_IP_PER_HOUR = env.int("OTP_PER_IP_PER_HOUR", default=30)
# Public "become a partner" applications accepted per requester address per clock hour (0: no limit).
MERCHANT_APPLICATIONS_PER_IP_PER_HOUR = env.int("MERCHANT_APPLICATIONS_PER_IP_PER_HOUR", default=5)
OTP_WRONG_GUESSES_PER_IP_PER_HOUR = env.int("OTP_WRONG_GUESSES_PER_IP_PER_HOUR", default=20)
CARD_TOKEN_TTL_SECONDS = 90  # the QR rotates every 60 s; a little slack for a slow till
IDEMPOTENCY_RETENTION = timedelta(hours=24)
# The bank production file holds full ID numbers: it is deleted this long after its batch completed.
BANK_FILE_RETENTION = timedelta(days=env.int("BANK_FILE_RETENTION_DAYS", default=30))
# So does the application file a union uploads: deleted this long after its batch completed (or after
# upload, for a rejected batch). Every applicant's row stays, with the ID number encrypted.
APPLICATION_FILE_RETENTION = timedelta(days=env.int("APPLICATION_FILE_RETENTION_DAYS", default=30))

# --- Notifications (docs/notifications.md) -------------------------------------------------------
# SMS_BACKEND (above) texts one-time codes and notices alike. The HTTP gateway's address and key:
SMS_HTTP_URL = env.str("SMS_HTTP_URL", default="")
SMS_HTTP_API_KEY = env.str("SMS_HTTP_API_KEY", default="")
SMS_HTTP_SIGN_NAME = env.str("SMS_HTTP_SIGN_NAME", default="工会会员卡")
SMS_HTTP_TIMEOUT = env.float("SMS_HTTP_TIMEOUT", default=10.0)
WECHAT_BACKEND = env.str("WECHAT_BACKEND", default="notifications.backends.wechat.ConsoleWechatBackend")
WECHAT_API_BASE_URL = env.str("WECHAT_API_BASE_URL", default="https://api.weixin.qq.com")
WECHAT_APP_ID = env.str("WECHAT_APP_ID", default="")
WECHAT_APP_SECRET = env.str("WECHAT_APP_SECRET", default="")
WECHAT_HTTP_TIMEOUT = env.float("WECHAT_HTTP_TIMEOUT", default=10.0)
# Per topic: {"card_ready": {"template_id": "…", "data": {"thing1": "{title}", "time2": "{created_at}"}}}
WECHAT_TEMPLATES = env.json("WECHAT_TEMPLATES", default={})
NOTIFICATIONS_FILE_DIR = Path(env.str("NOTIFICATIONS_FILE_DIR", default=str(BASE_DIR / "var" / "messages")))
# The site's address, for links in WeChat messages (which must be absolute), e.g. https://portal.example.org
NOTIFICATIONS_LINK_BASE_URL = env.str("NOTIFICATIONS_LINK_BASE_URL", default="")
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=5)
NOTIFICATION_RETRY_BACKOFF_SECONDS = env.float("NOTIFICATION_RETRY_BACKOFF_SECONDS", default=30.0)
NOTIFICATION_RETENTION = timedelta(days=env.int("NOTIFICATION_RETENTION_DAYS", default=180))

# --- City sites and the member app (docs/cities.md) ------------------------------------------------
# A city's site is reached at <slug>.<CITY_SITES_DOMAIN> (empty: no host names; the hosts must also be
# in ALLOWED_HOSTS, e.g. ".portal.example.org") and, when CITY_SITES_PATH_PREFIX is on, at /c/<slug>/.
# Development has both: http://tangshan.localhost:8000/ and http://127.0.0.1:8000/c/tangshan/.
CITY_SITES_DOMAIN = env.str("CITY_SITES_DOMAIN", default="localhost" if DEBUG else "")
CITY_SITES_PATH_PREFIX = env.bool("CITY_SITES_PATH_PREFIX", default=True)
CITY_SITE_COOKIE_AGE = 60 * 60 * 24 * 180  # a city chosen through its path is remembered this long
# The largest image anybody may upload (a city's logo or banner, a merchant's or an offer's picture).
IMAGE_MAX_BYTES = env.int("IMAGE_MAX_BYTES", default=env.int("CITY_IMAGE_MAX_BYTES", default=2 * 1024 * 1024))

# --- Webhooks (docs/webhooks.md) ---------------------------------------------------------------
# Endpoints are https only; http to 127.0.0.1, ::1 or localhost (and nowhere else) is allowed in
# development (DEBUG) or when this is set, for a receiver running beside the portal.
WEBHOOKS_ALLOW_LOOPBACK_HTTP = env.bool("WEBHOOKS_ALLOW_LOOPBACK_HTTP", default=False)
# Seconds between a failed attempt and the next; one attempt more than there are waits.
WEBHOOK_RETRY_SCHEDULE = tuple(
    env.list("WEBHOOK_RETRY_SCHEDULE", cast=float, default=[60, 300, 1800, 7200, 43200])
)
WEBHOOK_CONNECT_TIMEOUT = env.float("WEBHOOK_CONNECT_TIMEOUT", default=3.0)
WEBHOOK_READ_TIMEOUT = env.float("WEBHOOK_READ_TIMEOUT", default=5.0)
# Certificates of https endpoints are checked against the system's CAs, or against this bundle.
WEBHOOK_CA_FILE = env.str("WEBHOOK_CA_FILE", default="")
# How far back each outbox run reads redemption rows again: longer than any redemption transaction
# plus any clock difference between the servers (see webhooks/outbox.py).
WEBHOOK_OUTBOX_LAG_SECONDS = env.int("WEBHOOK_OUTBOX_LAG_SECONDS", default=600)
WEBHOOK_RETENTION = timedelta(days=env.int("WEBHOOK_RETENTION_DAYS", default=30))

# --- Security -------------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Logging: JSON lines on stdout, personal numbers masked ----------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": JSON_FORMATTER},
    "filters": {
        "personal_numbers": PERSONAL_NUMBER_FILTER,
        "request_id": {"()": "portal.middleware.RequestIdFilter"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id", "personal_numbers"],
        }
    },
    "root": {"handlers": ["stdout"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own console handler (development) would print every record a second time, unformatted.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # Beat sends the outbox and delivery tasks every few seconds; a line per task sent, received and
        # succeeded would drown everything else. Failures and retries are logged at WARNING and above.
        # TASK_LOG_LEVEL=INFO brings the per-task lines back while investigating.
        **{
            name: {"level": env.str("TASK_LOG_LEVEL", default="WARNING")}
            for name in ("celery.beat", "celery.app.trace", "celery.worker.strategy")
        },
    },
}

PORTAL_NAME = _("工会会员卡普惠服务平台")
