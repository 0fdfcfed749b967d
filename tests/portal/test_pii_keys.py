"""The development keys for personal data serve only the embedded PostgreSQL: against any other database
the settings want keys of their own, and refuse to start with the development ones."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from portal import devservices

BASE_DIR = Path(__file__).resolve().parents[2]
EXTERNAL = "postgres://portal:secret@db.example.org:5432/portal"
DEV_FERNET_KEY = "ZGV2LW9ubHktcGlpLWtleS1ub3QtZm9yLXByb2R1Y3Q="
OWN_FERNET_KEY = "Qk0tZ2VuZXJhdGVkLWZlcm5ldC1rZXktZm9yLXRlc3Q="


def check(**variables) -> subprocess.CompletedProcess:
    """``manage.py check`` (DEBUG on, as in development) with these variables; None removes one."""
    env = {**os.environ, "REDIS_URL": settings.REDIS_URL}
    env.pop("DJANGO_DEBUG", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests for their own process only
    for name, value in variables.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_an_external_database_needs_keys_of_its_own():
    result = check(DATABASE_URL=EXTERNAL, PII_ENCRYPTION_KEYS=None, PII_HASH_KEY=None)
    assert result.returncode != 0 and "PII_ENCRYPTION_KEYS" in result.stderr


def test_an_external_database_refuses_the_development_keys():
    refused = check(
        DATABASE_URL=EXTERNAL, PII_ENCRYPTION_KEYS=DEV_FERNET_KEY, PII_HASH_KEY="production-hash-key"
    )
    assert refused.returncode != 0 and "development key" in refused.stderr
    refused = check(
        DATABASE_URL=EXTERNAL, PII_ENCRYPTION_KEYS=OWN_FERNET_KEY, PII_HASH_KEY="dev-only-pii-hash-key"
    )
    assert refused.returncode != 0 and "development key" in refused.stderr
    accepted = check(
        DATABASE_URL=EXTERNAL, PII_ENCRYPTION_KEYS=OWN_FERNET_KEY, PII_HASH_KEY="production-hash-key"
    )
    assert accepted.returncode == 0, accepted.stderr


def test_the_embedded_database_is_the_one_devservices_handed_out(monkeypatch):
    monkeypatch.setenv(devservices.EMBEDDED_DATABASE_HOST, "/work/checkout/var/postgres")
    assert devservices.is_embedded_database("")  # no DATABASE_URL: settings start the embedded one
    assert devservices.is_embedded_database("postgresql://postgres:@/portal?host=/work/checkout/var/postgres")
    assert devservices.is_embedded_database(
        "postgresql://postgres:@/test_portal?host=/work/checkout/var/postgres"
    )
    assert not devservices.is_embedded_database("postgresql://postgres:@/portal?host=/var/run/postgresql")
    assert not devservices.is_embedded_database(EXTERNAL)
    monkeypatch.delenv(devservices.EMBEDDED_DATABASE_HOST)
    assert not devservices.is_embedded_database(
        "postgresql://postgres:@/portal?host=/work/checkout/var/postgres"
    )


def test_the_embedded_database_keeps_working_with_the_development_keys():
    embedded = "postgresql://postgres:@/portal?host=/tmp/a-checkout/var/postgres"
    result = check(
        DATABASE_URL=embedded,
        PII_ENCRYPTION_KEYS=None,
        PII_HASH_KEY=None,
        **{devservices.EMBEDDED_DATABASE_HOST: "/tmp/a-checkout/var/postgres"},
    )
    assert result.returncode == 0, result.stderr
