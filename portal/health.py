"""Is Redis reachable? Used by /healthz and by pages that enqueue work, so they can say
"try again shortly" instead of failing when the broker is down."""

from __future__ import annotations

import redis
from django.conf import settings


def redis_is_up() -> bool:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
