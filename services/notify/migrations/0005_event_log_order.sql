-- The partner stream reads the log in commit-safe order. `seq` alone is not: two workers
-- logging at once can commit seq 11 before seq 10, and a reader that moved past 11 would
-- never see 10. Ordered by (tx, seq) and read only below the oldest transaction still
-- running, the log only ever grows at its end.
ALTER TABLE event_log ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX event_log_order ON event_log (tx, seq);
