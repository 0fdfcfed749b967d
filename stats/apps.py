from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StatsConfig(AppConfig):
    """What reads every app: coverage statistics, their dashboard, API and tasks, and the demo
    province. It sits above ``discounts`` (see tests/test_layers.py)."""

    name = "stats"
    verbose_name = _("覆盖面统计")
