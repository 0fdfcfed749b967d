-- The redemption of discounts.redemption / discounts.idempotency as raw SQL, for pgbench.
-- Variables (pgbench -D): merchant, store, offer_lo, offer_hi, card_lo, card_hi.
-- 1. Claim the Idempotency-Key: one statement, its own transaction, asynchronous commit.
-- 2. Read the store, the offer (with its store list) and the card, as redemption_create does.
-- 3. Record: one statement, its own transaction — the insert of the redemption and
--    discounts_redemption_take(), which takes the member's day and total counters, stores the answer
--    in the claim, then takes the offer's shared day counter; it commits without waiting for the disk.
-- 4. Wait for the disk (discounts.redemption._await_durable) before the till would be answered.
\set card random(:card_lo, :card_hi)
\set offer random(:offer_lo, :offer_hi)
\set units 1
INSERT INTO discounts_idempotencyrecord (merchant_id, key, request_hash, state, created_at)
SELECT :merchant, 'pgb-' || gen_random_uuid()::text, repeat('0', 64), 'in_progress', now()
FROM (SELECT set_config('synchronous_commit', 'off', true)) AS cfg
ON CONFLICT (merchant_id, key) DO NOTHING
RETURNING id \gset claim_
SELECT id, merchant_id, name, is_active FROM merchants_store WHERE id = :store;
SELECT o.*, eu.path, ARRAY(SELECT s.store_id FROM discounts_offer_stores s WHERE s.offer_id = o.id)
FROM discounts_offer o LEFT JOIN members_union eu ON eu.id = o.eligible_union_id WHERE o.id = :offer;
SELECT c.id, c.status, c.member_id, m.status, u.path FROM members_card c JOIN members_member m ON m.id = c.member_id
  JOIN members_union u ON u.id = m.union_id WHERE c.id = :card \gset card_
WITH r AS (
  INSERT INTO discounts_redemption (offer_id, merchant_id, store_id, card_id, member_id, units, amount, discount,
    payable, union_subsidy, funder, local_day, status, idempotency_key, void_reason, created_at)
  VALUES (:offer, :merchant, :store, :card, :card_member_id, :units, 45.00, 35.00, 10.00, 0.00, 'merchant',
    (now() AT TIME ZONE 'Asia/Shanghai')::date, 'completed', 'pgb', '', now())
  RETURNING id)
SELECT r.id, discounts_redemption_take(:offer, :card_member_id, (now() AT TIME ZONE 'Asia/Shanghai')::date, :units,
  0.00, r.id, :claim_id, '{"id": null, "status": "completed"}'::jsonb, true) FROM r;
SELECT pg_current_xact_id();
