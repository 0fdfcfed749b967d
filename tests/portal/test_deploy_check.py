"""`manage.py check --deploy` is clean with the production environment of .env.example."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

BASE_DIR = Path(__file__).resolve().parents[2]


def test_check_deploy_is_clean_in_the_production_configuration():
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "SECRET_KEY": "a-long-random-production-secret-key-0123456789-abcdefghijklmnopq",
        "ALLOWED_HOSTS": "portal.example.org",
        "DATABASE_URL": _db_url(),
        "REDIS_URL": settings.REDIS_URL,
        "PII_ENCRYPTION_KEYS": "Qk0tZ2VuZXJhdGVkLWZlcm5ldC1rZXktZm9yLXRlc3Q=",
        "PII_HASH_KEY": "production-hash-key",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests for their own process only
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {**os.environ, "DJANGO_DEBUG": "false", "DATABASE_URL": _db_url(), "REDIS_URL": settings.REDIS_URL}
    env.pop("SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def _db_url() -> str:
    from tests.conftest import database_url_for

    return database_url_for(settings.DATABASES["default"])
