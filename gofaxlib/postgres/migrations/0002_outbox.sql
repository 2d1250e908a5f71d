-- 0002: the receipt outbox as gofaxlib/postgres's Outbox works it.
--
-- A claim leases a delivery: lease is the claim's random token and
-- lease_until its end; a row leased until a time still ahead is hidden
-- from other claims. Recording an outcome (delivered, retry, dead,
-- release) needs the row's current lease, so a dispatcher whose lease ran
-- out (it stalled or died and another host took the row) changes nothing.
-- attempts counts the recorded outcomes, not the claims: an attempt cut
-- short by a crash is not counted. seq keeps the order deliveries were
-- written in, the tie-break among deliveries due at the same time.
ALTER TABLE deliveries
    ADD COLUMN lease       text,
    ADD COLUMN lease_until timestamptz,
    ADD COLUMN seq         bigint GENERATED ALWAYS AS IDENTITY,
    ADD CONSTRAINT deliveries_lease_check CHECK ((lease IS NULL) = (lease_until IS NULL));

-- Claims walk due pending rows oldest first.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_claim ON deliveries (next_attempt_at, seq) WHERE status = 'pending';
-- The dead-letter count of the metrics.
CREATE INDEX deliveries_dead ON deliveries (endpoint_id) WHERE status = 'dead';
-- Events of one type (API filter).
CREATE INDEX events_tenant_type ON events (tenant_id, type, created_at DESC, id DESC);
