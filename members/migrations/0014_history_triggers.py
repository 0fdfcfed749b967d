"""Triggers that keep the dated history of members (union, status) and cards (status).

Statement-level triggers with transition tables: a bulk statement (a batch's or a roster's upsert of
thousands of members) writes its history in one INSERT … SELECT, not a trigger call per row. A change
is dated by :sql:`members_history_at()`: ``now()`` unless the transaction set
``members.history_effective_at`` (a back-dated correction, ``members.history``); a date before the
open period of the row is refused, so periods never overlap.

The history of rows that existed before these triggers starts with their current state, dated when
the member was created or the card issued."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION members_history_at() RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('members.history_effective_at', true), '')::timestamptz, now())
$$;

CREATE FUNCTION members_member_history_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO members_memberhistory (member_id, union_id, status, valid_from)
    SELECT id, union_id, status, members_history_at() FROM new_rows;
    RETURN NULL;
END $$;

CREATE FUNCTION members_member_history_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    at timestamptz := members_history_at();
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o ON o.id = n.id
               JOIN members_memberhistory h ON h.member_id = n.id AND h.valid_to IS NULL
               WHERE (n.status IS DISTINCT FROM o.status OR n.union_id IS DISTINCT FROM o.union_id)
                 AND h.valid_from > at) THEN
        RAISE EXCEPTION 'history: a change cannot be dated before the member''s last recorded change'
            USING ERRCODE = '23514';
    END IF;
    UPDATE members_memberhistory h SET valid_to = at
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE h.member_id = n.id AND h.valid_to IS NULL
      AND (n.status IS DISTINCT FROM o.status OR n.union_id IS DISTINCT FROM o.union_id);
    INSERT INTO members_memberhistory (member_id, union_id, status, valid_from)
    SELECT n.id, n.union_id, n.status, at FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.status IS DISTINCT FROM o.status OR n.union_id IS DISTINCT FROM o.union_id;
    RETURN NULL;
END $$;

CREATE FUNCTION members_card_history_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO members_cardhistory (card_id, member_id, status, valid_from)
    SELECT id, member_id, status, members_history_at() FROM new_rows;
    RETURN NULL;
END $$;

CREATE FUNCTION members_card_history_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    at timestamptz := members_history_at();
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o ON o.id = n.id
               JOIN members_cardhistory h ON h.card_id = n.id AND h.valid_to IS NULL
               WHERE n.status IS DISTINCT FROM o.status AND h.valid_from > at) THEN
        RAISE EXCEPTION 'history: a change cannot be dated before the card''s last recorded change'
            USING ERRCODE = '23514';
    END IF;
    UPDATE members_cardhistory h SET valid_to = at
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE h.card_id = n.id AND h.valid_to IS NULL AND n.status IS DISTINCT FROM o.status;
    INSERT INTO members_cardhistory (card_id, member_id, status, valid_from)
    SELECT n.id, n.member_id, n.status, at FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.status IS DISTINCT FROM o.status;
    RETURN NULL;
END $$;

CREATE TRIGGER members_member_history_insert AFTER INSERT ON members_member
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION members_member_history_insert();
CREATE TRIGGER members_member_history_update AFTER UPDATE ON members_member
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION members_member_history_update();
CREATE TRIGGER members_card_history_insert AFTER INSERT ON members_card
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION members_card_history_insert();
CREATE TRIGGER members_card_history_update AFTER UPDATE ON members_card
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION members_card_history_update();

INSERT INTO members_memberhistory (member_id, union_id, status, valid_from)
SELECT id, union_id, status, created_at FROM members_member;
INSERT INTO members_cardhistory (card_id, member_id, status, valid_from)
SELECT id, member_id, status, issued_at FROM members_card;
INSERT INTO members_unionsubmission (union_id, kind, first_at, last_at)
SELECT r.union_id, 'cards', min(b.created_at), max(b.created_at)
FROM members_issuancerow r JOIN members_issuancebatch b ON b.id = r.batch_id
WHERE r.union_id IS NOT NULL AND b.status NOT IN ('rejected', 'uploaded', 'validating')
GROUP BY r.union_id;
"""

BACKWARD = """
DROP TRIGGER members_member_history_insert ON members_member;
DROP TRIGGER members_member_history_update ON members_member;
DROP TRIGGER members_card_history_insert ON members_card;
DROP TRIGGER members_card_history_update ON members_card;
DROP FUNCTION members_member_history_insert();
DROP FUNCTION members_member_history_update();
DROP FUNCTION members_card_history_insert();
DROP FUNCTION members_card_history_update();
DROP FUNCTION members_history_at();
DELETE FROM members_memberhistory;
DELETE FROM members_cardhistory;
DELETE FROM members_unionsubmission;
"""


class Migration(migrations.Migration):
    dependencies = [("members", "0013_roster_history_and_reported_counts")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
