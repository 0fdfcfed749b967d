"""The permissions of the coverage models follow them from the members app.

A permission belongs to its model's content type. Renaming the content types ``members.coveragesnapshot``
and ``members.snapshotrun`` to the stats app keeps every permission row, so the groups and users that
were given ``members.view_coveragesnapshot`` hold ``stats.view_coveragesnapshot`` afterwards, and the
admin log keeps pointing at the right model. On a new database there is nothing to rename yet (content
types are created after the migrations have run)."""

from django.db import migrations

MODELS = ("coveragesnapshot", "snapshotrun")


def _move(apps, from_label: str, to_label: str) -> None:
    content_type_model = apps.get_model("contenttypes", "ContentType")
    permission_model = apps.get_model("auth", "Permission")
    for model in MODELS:
        old = content_type_model.objects.filter(app_label=from_label, model=model).first()
        if old is None:
            continue
        new = content_type_model.objects.filter(app_label=to_label, model=model).first()
        if new is None:
            old.app_label = to_label
            old.save(update_fields=["app_label"])
            continue
        # Both exist (the new one was made by a run of the post-migrate step in between): the grants of
        # the old permissions go to the new ones of the same codename, then the old type goes.
        for permission in permission_model.objects.filter(content_type=old):
            twin = permission_model.objects.filter(content_type=new, codename=permission.codename).first()
            if twin is None:
                permission.content_type = new
                permission.save(update_fields=["content_type"])
                continue
            for group in permission.group_set.all():
                group.permissions.add(twin)
            for user in permission.user_set.all():
                user.user_permissions.add(twin)
        old.delete()


def forwards(apps, schema_editor):
    _move(apps, "members", "stats")


def backwards(apps, schema_editor):
    _move(apps, "stats", "members")


class Migration(migrations.Migration):
    dependencies = [
        ("stats", "0001_initial"),
        ("members", "0009_coverage_moved_to_stats"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("portal", "0003_two_person_approval"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
