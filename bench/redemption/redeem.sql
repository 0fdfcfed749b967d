-- The redemption transaction of discounts.redemption / discounts.idempotency as raw SQL, for pgbench.
-- Variables (pgbench -D): merchant, store, offer_lo, offer_hi, card_lo, card_hi.
-- Step 1, its own transaction (asynchronous commit, as in discounts.idempotency): claim the key.
-- Step 2, one transaction, in the order of discounts.redemption.redemption_create: read the store, the
-- offer (with its store list) and the card, insert the redemption, take the member counters, store
-- the response in the claim, then take the offer's shared day counter last.
\set card random(:card_lo, :card_hi)
\set offer random(:offer_lo, :offer_hi)
\set units 1
INSERT INTO discounts_idempotencyrecord (merchant_id, key, request_hash, state, created_at)
SELECT :merchant, 'pgb-' || gen_random_uuid()::text, repeat('0', 64), 'in_progress', now()
FROM (SELECT set_config('synchronous_commit', 'off', true)) AS cfg
ON CONFLICT (merchant_id, key) DO NOTHING
RETURNING id \gset claim_
BEGIN;
SELECT id, merchant_id, name, is_active FROM merchants_store WHERE id = :store;
SELECT o.*, ARRAY(SELECT s.store_id FROM discounts_offer_stores s WHERE s.offer_id = o.id)
FROM discounts_offer o LEFT JOIN members_union eu ON eu.id = o.eligible_union_id WHERE o.id = :offer;
SELECT c.id, c.status, m.status, u.path FROM members_card c JOIN members_member m ON m.id = c.member_id
  JOIN members_union u ON u.id = m.union_id WHERE c.id = :card;
INSERT INTO discounts_redemption (offer_id, merchant_id, store_id, card_id, member_id, units, amount, discount,
  payable, union_subsidy, funder, local_day, status, idempotency_key, void_reason, created_at)
SELECT :offer, :merchant, :store, c.id, c.member_id, :units, 100.00, 10.00, 90.00, 0.00, 'merchant',
  (now() AT TIME ZONE 'Asia/Shanghai')::date, 'completed', 'pgb', '', now()
FROM members_card c WHERE c.id = :card
RETURNING id, member_id \gset red_
INSERT INTO discounts_memberofferdaycounter AS c (offer_id, member_id, day, used)
SELECT :offer, :red_member_id, (now() AT TIME ZONE 'Asia/Shanghai')::date, :units
FROM discounts_offer o WHERE o.id = :offer AND COALESCE(o.per_member_daily_limit >= :units, TRUE)
ON CONFLICT (offer_id, member_id, day) DO UPDATE SET used = c.used + EXCLUDED.used
WHERE COALESCE(
    (SELECT per_member_daily_limit FROM discounts_offer WHERE id = :offer) >= c.used + EXCLUDED.used, TRUE)
RETURNING used;
INSERT INTO discounts_memberoffertotalcounter AS c (offer_id, member_id, used)
SELECT :offer, :red_member_id, :units
FROM discounts_offer o WHERE o.id = :offer AND COALESCE(o.per_member_total_limit >= :units, TRUE)
ON CONFLICT (offer_id, member_id) DO UPDATE SET used = c.used + EXCLUDED.used
WHERE COALESCE(
    (SELECT per_member_total_limit FROM discounts_offer WHERE id = :offer) >= c.used + EXCLUDED.used, TRUE)
RETURNING used;
UPDATE discounts_idempotencyrecord SET state = 'completed', response_status = 201,
  response_body = json_build_object('id', :red_id), completed_at = now()
WHERE id = :claim_id AND state = 'in_progress';
INSERT INTO discounts_offerdaycounter AS c (offer_id, day, used)
SELECT :offer, (now() AT TIME ZONE 'Asia/Shanghai')::date, :units
FROM discounts_offer o WHERE o.id = :offer AND COALESCE(o.daily_quota >= :units, TRUE)
ON CONFLICT (offer_id, day) DO UPDATE SET used = c.used + EXCLUDED.used
WHERE COALESCE((SELECT daily_quota FROM discounts_offer WHERE id = :offer) >= c.used + EXCLUDED.used, TRUE)
RETURNING used;
COMMIT;
