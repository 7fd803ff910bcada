-- The region whose process armed a timer. With LIAISON_REGIONAL_QUEUES on, only that
-- region's workers fire it, by job or by sweep; NULL (timers armed before this column)
-- may be fired by any region.
ALTER TABLE timers ADD COLUMN region text;
