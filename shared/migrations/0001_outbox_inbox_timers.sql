-- Tables every service has: the transactional outbox, the consumer inbox (events already
-- handled) and the timers whose deadlines drive arq jobs.

CREATE TABLE outbox (
    seq         bigserial PRIMARY KEY,
    event_id    text NOT NULL UNIQUE,
    event_type  text NOT NULL,
    envelope    jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);
-- The relay only ever looks for unsent rows.
CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;

CREATE TABLE inbox (
    event_id     text PRIMARY KEY,
    event_type   text NOT NULL,
    handled_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE timers (
    id          uuid PRIMARY KEY,
    kind        text NOT NULL,
    subject     text NOT NULL,
    due_at      timestamptz NOT NULL,
    payload     jsonb NOT NULL DEFAULT '{}'::jsonb,
    version     integer NOT NULL DEFAULT 1,
    fired_at    timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, subject)
);
-- The sweep scans unfired timers by deadline.
CREATE INDEX timers_pending ON timers (due_at) WHERE fired_at IS NULL;
