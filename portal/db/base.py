"""Django's PostgreSQL backend with a health check that costs no round trip.

With ``CONN_HEALTH_CHECKS`` Django checks a persistent connection before a request first uses it, by
sending ``SELECT 1``: one round trip on every request, a sixth of what a redemption sends. This
backend asks the socket instead. A connection between requests is idle: PostgreSQL sends nothing on it
unless it is going away — a terminated backend, a restart, a pooler closing it — when it writes its
error and closes the socket. So an idle connection whose socket has something to read (or is already
closed) is not usable, and Django opens a new one; one with nothing to read is. A connection that
stopped answering without a word (a cable pulled) passes, as it would pass the ``SELECT 1`` only
after a network timeout; the query then fails and Django closes it at the end of that request."""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None or self.connection.closed or self.connection.broken:
            return False
        try:
            readable, _, _ = select.select([self.connection.pgconn.socket], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable
