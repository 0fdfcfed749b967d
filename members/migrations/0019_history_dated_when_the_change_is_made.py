"""Date a live change of the history when the change is made (``clock_timestamp()``), not when its
transaction began (``now()``).

Two transactions changing one card or member queue on its row lock. Dated by ``now()``, the one that
began first but changed the row second would date its change before the other's, which the history
refuses (periods never overlap): an undo of a lost report racing a replacement failed with an
IntegrityError instead of the replacement's ordinary refusal. The moment of the statement is after
the lock was granted, so it is never before the last recorded change. Back-dated corrections
(``members.history_effective_at``) are unchanged; each statement's rows share one moment."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION members_history_at() RETURNS timestamptz LANGUAGE sql VOLATILE AS $$
    SELECT coalesce(
        nullif(current_setting('members.history_effective_at', true), '')::timestamptz, clock_timestamp()
    )
$$;

CREATE OR REPLACE FUNCTION members_member_history_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    at timestamptz := members_history_at();
BEGIN
    INSERT INTO members_memberhistory (member_id, union_id, status, valid_from)
    SELECT id, union_id, status, at FROM new_rows;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION members_card_history_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    at timestamptz := members_history_at();
BEGIN
    INSERT INTO members_cardhistory (card_id, member_id, status, valid_from)
    SELECT id, member_id, status, at FROM new_rows;
    RETURN NULL;
END $$;
"""

BACKWARD = """
CREATE OR REPLACE FUNCTION members_history_at() RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('members.history_effective_at', true), '')::timestamptz, now())
$$;

CREATE OR REPLACE FUNCTION members_member_history_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO members_memberhistory (member_id, union_id, status, valid_from)
    SELECT id, union_id, status, members_history_at() FROM new_rows;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION members_card_history_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO members_cardhistory (card_id, member_id, status, valid_from)
    SELECT id, member_id, status, members_history_at() FROM new_rows;
    RETURN NULL;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("members", "0018_labels_for_new_models")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
