import logging

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("平台")

    def ready(self):
        # Python's warnings go through logging (the "py.warnings" logger), so they reach the log
        # collector as JSON records like everything else rather than as bare lines on stderr.
        logging.captureWarnings(True)
