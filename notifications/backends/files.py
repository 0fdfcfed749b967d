"""The development file backends' one writer: a JSON line per message in
``NOTIFICATIONS_FILE_DIR/<channel>.jsonl``, the developer's stand-in for a phone."""

from __future__ import annotations

import json
import os
from pathlib import Path

from django.conf import settings
from django.utils import timezone


def append_json_line(channel: str, record: dict) -> Path:
    folder = Path(settings.NOTIFICATIONS_FILE_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{channel}.jsonl"
    line = json.dumps({"at": timezone.now().isoformat(), **record}, ensure_ascii=False) + "\n"
    # One write of the whole line on a file opened for appending: lines of parallel workers do not mix.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)
    return path
