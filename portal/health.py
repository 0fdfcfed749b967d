"""Redis for the web process: one client per Redis address, and whether Redis is reachable (used by
/healthz and by pages that enqueue work, so they can say "try again shortly" instead of failing
when the broker is down)."""

from __future__ import annotations

import redis
from django.conf import settings

_clients: dict[str, redis.Redis] = {}


def redis_client() -> redis.Redis:
    """The client for ``settings.REDIS_URL``, made once: it keeps a pool of connections that the
    requests of a process share (a new client per request costs milliseconds of CPU)."""
    client = _clients.get(settings.REDIS_URL)
    if client is None:
        # Nothing a request needs waits long on Redis: give up quickly when it is down.
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.3, socket_timeout=0.3)
        _clients[settings.REDIS_URL] = client
    return client


def redis_is_up() -> bool:
    try:
        return bool(redis_client().ping())
    except (redis.RedisError, OSError):
        return False
