-- WAITING pauses a breached clock too: the working minutes still to go until the next
-- escalation level are kept here while it is paused, and counted again from the resume.
ALTER TABLE sla_clocks ADD COLUMN held_escalation_minutes double precision;
