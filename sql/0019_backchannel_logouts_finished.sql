-- Issue 18: the expired-row sweeper deletes back-channel logouts a day after they were delivered or given up.
-- A partial index on the finished rows, so a sweep batch finds them without reading the pending queue or the whole table.
CREATE INDEX backchannel_logouts_finished ON backchannel_logouts ((COALESCE(delivered_at, failed_at)))
    WHERE delivered_at IS NOT NULL OR failed_at IS NOT NULL;
