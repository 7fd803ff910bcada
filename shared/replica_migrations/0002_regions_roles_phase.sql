-- Region calendars (for business-hour clocks and reminders), people's roles (to find the
-- PMO) and the request's phase (channel routing) in the local copies.

CREATE TABLE region_replicas (
    id          text PRIMARY KEY,
    code        text NOT NULL,
    name        text NOT NULL,
    time_zone   text NOT NULL,
    calendar    jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE person_replicas ADD COLUMN roles text[] NOT NULL DEFAULT '{}';
ALTER TABLE request_replicas ADD COLUMN phase text NOT NULL DEFAULT 'PREPARATION';
ALTER TABLE request_replicas ADD COLUMN approver_id text;
