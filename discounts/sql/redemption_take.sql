-- discounts_redemption_take(): the limits of one redemption, taken inside the database.
--
-- The one authority for the counters: discounts.redemption (redemption_create, limits_take) calls it;
-- migration discounts 0006 installs it from this file (a later migration that changes it installs
-- this file again); tests/redemption/test_sql_function.py checks that the installed function is this
-- text. What it does and why: the docstring of that migration.
CREATE OR REPLACE FUNCTION discounts_redemption_take(
    p_offer bigint,
    p_member bigint,
    p_day date,
    p_units integer,
    p_subsidy numeric,
    p_fund bigint,
    p_redemption bigint,
    p_claim bigint,
    p_answer jsonb,
    p_async_commit boolean
) RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    -- A NULL limit means unlimited: COALESCE(limit >= wanted, TRUE). Limits are read from the offer
    -- row inside each statement, so a quota staff changed a moment ago is the one applied; the
    -- INSERT branch checks the limit too, so a first redemption above the limit inserts nothing.
    INSERT INTO discounts_memberofferdaycounter AS c (offer_id, member_id, day, used)
    SELECT p_offer, p_member, p_day, p_units
    FROM discounts_offer o
    WHERE o.id = p_offer AND COALESCE(o.per_member_daily_limit >= p_units, TRUE)
    ON CONFLICT (offer_id, member_id, day) DO UPDATE SET used = c.used + EXCLUDED.used
    WHERE COALESCE(
        (SELECT per_member_daily_limit FROM discounts_offer WHERE id = p_offer) >= c.used + EXCLUDED.used,
        TRUE);
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'refused:member_daily_limit';
    END IF;

    INSERT INTO discounts_memberoffertotalcounter AS c (offer_id, member_id, used)
    SELECT p_offer, p_member, p_units
    FROM discounts_offer o
    WHERE o.id = p_offer AND COALESCE(o.per_member_total_limit >= p_units, TRUE)
    ON CONFLICT (offer_id, member_id) DO UPDATE SET used = c.used + EXCLUDED.used
    WHERE COALESCE(
        (SELECT per_member_total_limit FROM discounts_offer WHERE id = p_offer) >= c.used + EXCLUDED.used,
        TRUE);
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'refused:member_total_limit';
    END IF;

    -- The answer to the POS request, stored before the offer-wide rows are locked. Guarded: of an
    -- original request and a retry that took its claim over, only the first to complete it commits.
    IF p_claim IS NOT NULL THEN
        UPDATE discounts_idempotencyrecord
        SET state = 'completed',
            response_status = 201,
            response_body = jsonb_set(p_answer, '{id}', to_jsonb(p_redemption)),
            completed_at = now()
        WHERE id = p_claim AND state = 'in_progress';
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'refused:claim_lost';
        END IF;
    END IF;

    INSERT INTO discounts_offerdaycounter AS c (offer_id, day, used)
    SELECT p_offer, p_day, p_units
    FROM discounts_offer o
    WHERE o.id = p_offer AND COALESCE(o.daily_quota >= p_units, TRUE)
    ON CONFLICT (offer_id, day) DO UPDATE SET used = c.used + EXCLUDED.used
    WHERE COALESCE((SELECT daily_quota FROM discounts_offer WHERE id = p_offer) >= c.used + EXCLUDED.used, TRUE);
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'refused:quota_exhausted';
    END IF;

    IF p_subsidy > 0 THEN
        UPDATE discounts_offer SET budget_used = budget_used + p_subsidy
        WHERE id = p_offer AND (budget IS NULL OR budget_used + p_subsidy <= budget);
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'refused:budget_exhausted';
        END IF;
    END IF;

    -- The union's share, spent from the offer's fund (docs/funds.md): the hottest row, shared by
    -- every offer drawing on the fund, so it is taken last and held only for the commit. The guard
    -- is the fund's own: what is left covers the share. The ledger row names the redemption.
    IF p_fund IS NOT NULL AND p_subsidy > 0 THEN
        UPDATE funds_fund SET spent = spent + p_subsidy
        WHERE id = p_fund
          AND received + added + transferred_in - allocated - transferred_out - committed - spent >= p_subsidy;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'refused:fund_exhausted';
        END IF;
        INSERT INTO funds_fundmovement
            (fund_id, kind, amount, actor_id, actor_label, reference_type, reference_id, operation_id,
             note, created_at)
        VALUES (p_fund, 'spent', p_subsidy, NULL, 'system', 'discounts.redemption', p_redemption::text,
                NULL, '', now());
    END IF;

    IF p_async_commit THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
END
$$;
