-- The request's lifecycle: its time span and milestones, every status move in a history,
-- and per-goal acceptance results (actual value, met or not).

ALTER TABLE collab_requests ADD COLUMN starts_on date;
ALTER TABLE collab_requests ADD COLUMN ends_on date;
ALTER TABLE collab_requests ADD COLUMN acceptance_tolerance_percent numeric NOT NULL DEFAULT 0;
ALTER TABLE collab_requests ADD COLUMN version integer NOT NULL DEFAULT 1;
CREATE INDEX collab_requests_status ON collab_requests (status);

CREATE TABLE milestones (
    id          text PRIMARY KEY,
    request_id  text NOT NULL REFERENCES collab_requests (id) ON DELETE CASCADE,
    position    integer NOT NULL,
    title       text NOT NULL,
    due_date    date NOT NULL,
    UNIQUE (request_id, position)
);

-- One row per move or edit: who, when, from which status to which, and why.
CREATE TABLE request_history (
    id           bigserial PRIMARY KEY,
    request_id   text NOT NULL REFERENCES collab_requests (id) ON DELETE CASCADE,
    action       text NOT NULL,
    from_status  text,
    to_status    text NOT NULL,
    actor_id     text NOT NULL,
    comment      text NOT NULL DEFAULT '',
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX request_history_request ON request_history (request_id, id);

-- AT_LEAST: reaching the target or more meets it (revenue); AT_MOST: staying at or under it
-- meets it (hours to answer a customer).
ALTER TABLE goals ADD COLUMN direction text NOT NULL DEFAULT 'AT_LEAST';
ALTER TABLE goals ADD COLUMN actual numeric;
ALTER TABLE goals ADD COLUMN met boolean;
ALTER TABLE goals ADD COLUMN recorded_at timestamptz;
ALTER TABLE goals ADD COLUMN recorded_by text;
