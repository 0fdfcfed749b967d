"""The ledger is append-only in the database itself: a trigger refuses every UPDATE and DELETE of a
movement, whatever door it comes through (the admin, a shell, raw SQL). A mistake is corrected by a
new movement the other way, so the history stays whole."""

from django.db import migrations

APPEND_ONLY = """
CREATE FUNCTION funds_fundmovement_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'funds_fundmovement is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER funds_fundmovement_append_only
BEFORE UPDATE OR DELETE ON funds_fundmovement
FOR EACH ROW EXECUTE FUNCTION funds_fundmovement_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS funds_fundmovement_append_only ON funds_fundmovement;
DROP FUNCTION IF EXISTS funds_fundmovement_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("funds", "0001_funds_and_ledger"),
    ]

    operations = [migrations.RunSQL(APPEND_ONLY, DROP)]
