from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("会员与发卡")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from members.auth import staff_session_age_restore

        user_logged_in.connect(staff_session_age_restore, dispatch_uid="members-staff-session-age")
