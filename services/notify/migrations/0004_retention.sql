-- Pruning (services.notify.scheduled) looks for deliveries settled before a cutoff.
CREATE INDEX deliveries_settled ON deliveries (updated_at)
    WHERE next_attempt_at IS NULL AND lease_expires_at IS NULL;
