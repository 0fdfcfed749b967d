import logging

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def grant_roles(sender, **kwargs):
    """After ``migrate``, the staff roles hold exactly the permissions portal.roles names — on every
    installation, not only the demo's. Django creates each app's permissions in that app's
    post_migrate, so the roles are set once the last app's have been made."""
    if sender is not list(apps.get_app_configs())[-1]:
        return
    from portal.roles import ensure_roles

    ensure_roles()


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("平台")

    def ready(self):
        # Python's warnings go through logging (the "py.warnings" logger), so they reach the log
        # collector as JSON records like everything else rather than as bare lines on stderr.
        logging.captureWarnings(True)
        post_migrate.connect(grant_roles, dispatch_uid="portal.grant_roles")
