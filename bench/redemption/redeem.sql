-- The statements of one POS redemption as raw SQL, for pgbench. run.py fills in the insert of the
-- redemption row from the application's own column list (discounts.redemption.REDEMPTION_COLUMNS,
-- with a value for each in run.py's REDEMPTION_VALUES), then runs it.
-- Variables (pgbench -D): merchant, store, offer_lo, offer_hi, card_lo, card_hi, key_lo, key_hi.
-- 1. The API key with its merchant and store (merchants.apikeys; by id here, by prefix there).
-- 2. Claim the Idempotency-Key: one statement, its own transaction, asynchronous commit.
-- 3. Read the store, the offer (with its eligible union and store list) and the card (with member and
--    union) in one query, as redemption_create does (the card by id here, by number there).
-- 4. Record: one statement, its own transaction — the insert of the redemption and
--    discounts_redemption_take(), which takes the member's day and total counters, stores the answer
--    in the claim, then takes the offer's shared day counter; it commits without waiting for the disk.
-- 5. Wait for the disk (discounts.redemption._await_durable) before the till would be answered.
-- The rate limit's one Redis command is not here.
\set key random(:key_lo, :key_hi)
\set card random(:card_lo, :card_hi)
\set offer random(:offer_lo, :offer_hi)
\set units 1
SELECT k.id, k.merchant_id, k.store_id, k.name, k.prefix, k.key_hash, k.created_by_id, k.created_at,
  k.last_used_at, k.revoked_at, m.id, m.name, m.category_id, m.region_id, m.status, s.id, s.merchant_id,
  s.name, s.region_id, s.is_active
FROM merchants_apikey k JOIN merchants_merchant m ON m.id = k.merchant_id
  LEFT JOIN merchants_store s ON s.id = k.store_id
WHERE k.id = :key AND k.revoked_at IS NULL;
INSERT INTO discounts_idempotencyrecord (merchant_id, key, request_hash, state, created_at)
SELECT :merchant, 'pgb-' || gen_random_uuid()::text, repeat('0', 64), 'in_progress', now()
FROM (SELECT set_config('synchronous_commit', 'off', true)) AS cfg
ON CONFLICT (merchant_id, key) DO NOTHING
RETURNING id \gset claim_
SELECT s.id, s.merchant_id, s.name, s.is_active, o.*, eu.id, eu.code, eu.name, eu.path,
  c.id AS card_id, c.number, c.member_id AS card_member_id, c.status, m.id, m.name, m.union_id, m.status,
  m.groups, u.id, u.code, u.name, u.path,
  ARRAY(SELECT os.store_id FROM discounts_offer_stores os WHERE os.offer_id = o.id) AS store_ids
FROM (SELECT 1) AS one
  LEFT JOIN merchants_store s ON s.id = :store
  LEFT JOIN discounts_offer o ON o.id = :offer
  LEFT JOIN members_union eu ON eu.id = o.eligible_union_id
  LEFT JOIN members_card c ON c.id = :card
  LEFT JOIN members_member m ON m.id = c.member_id
  LEFT JOIN members_union u ON u.id = m.union_id \gset row_
WITH r AS (
  INSERT INTO discounts_redemption (/*REDEMPTION_COLUMNS*/)
  VALUES (/*REDEMPTION_VALUES*/)
  RETURNING id)
SELECT r.id, discounts_redemption_take(:offer, :row_card_member_id,
  (now() AT TIME ZONE 'Asia/Shanghai')::date, :units, 0.00, NULL, r.id, :claim_id,
  '{"id": null, "status": "completed"}'::jsonb, true) FROM r;
SELECT pg_current_xact_id();
