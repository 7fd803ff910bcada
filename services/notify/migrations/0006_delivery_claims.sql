-- A claim is named by its own id, so the sending job can extend its lease while it works:
-- a slow but living worker keeps the delivery, and only a lease that stopped being renewed
-- (the worker died or stalled for a whole lease) hands it to the watchdog.
ALTER TABLE deliveries ADD COLUMN claim_id text;
