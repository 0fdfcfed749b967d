"""Work is queued by task name (``portal.tasks_util``): every name the code queues, and every name in the
beat schedule, is a task the worker has registered. A misspelt name would otherwise be sent and lost."""

from __future__ import annotations

import ast

from django.conf import settings

from portal.celery import app as celery_app
from tests.test_layers import BASE_DIR, LAYERS, app_modules

ENQUEUE_FUNCTIONS = {"enqueue_on_commit", "enqueue_now"}


def queued_task_names() -> dict[str, str]:
    """Each task name given to an enqueue function as a literal, with where it is given."""
    found = {}
    for app in LAYERS:
        for path, _module, _is_package in app_modules(app):
            tree = ast.parse((BASE_DIR / path).read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                first = node.args[0]
                if name in ENQUEUE_FUNCTIONS and isinstance(first, ast.Constant):
                    found[first.value] = f"{path}:{node.lineno}"
    return found


def test_every_queued_or_scheduled_task_is_registered():
    celery_app.loader.import_default_modules()  # what a worker imports when it starts: every tasks module
    registered = set(celery_app.tasks)
    queued = queued_task_names()
    assert {"members.tasks.batch_validate", "portal.tasks.coverage_snapshot_run"} <= queued.keys()
    unknown = {name: where for name, where in queued.items() if name not in registered}
    assert not unknown, f"queued under names no worker knows: {unknown}"
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert sorted(scheduled - registered) == []
