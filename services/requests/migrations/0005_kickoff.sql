-- Kickoff outputs: the communication plan (one per request) and the risk register.

CREATE TABLE communication_plans (
    request_id               text PRIMARY KEY REFERENCES collab_requests (id) ON DELETE CASCADE,
    meeting_cadence          text NOT NULL,
    channels                 text[] NOT NULL,
    report_template          text NOT NULL,
    report_cadence           text NOT NULL,
    report_deadline_weekday  integer NOT NULL CHECK (report_deadline_weekday BETWEEN 1 AND 7),
    report_deadline_time     time NOT NULL,
    time_zone                text NOT NULL,
    updated_by               text NOT NULL,
    updated_at               timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE risks (
    id           text PRIMARY KEY,
    request_id   text NOT NULL REFERENCES collab_requests (id) ON DELETE CASCADE,
    description  text NOT NULL,
    likelihood   text NOT NULL,
    impact       text NOT NULL,
    mitigation   text NOT NULL,
    owner_id     text REFERENCES people (id),
    status       text NOT NULL DEFAULT 'OPEN',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX risks_request ON risks (request_id, created_at);
