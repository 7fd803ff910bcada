-- Fan-out beyond the inbox: partner webhook endpoints, chat groups, e-mail, the partner
-- event log, deliveries with every attempt, personal preferences and daily digests.

-- Every event notify has consumed, in arrival order: the partner stream and replays read it.
CREATE TABLE event_log (
    seq          bigserial PRIMARY KEY,
    event_id     text NOT NULL UNIQUE,
    type         text NOT NULL,
    time         timestamptz NOT NULL,
    departments  text[] NOT NULL DEFAULT '{}',
    envelope     jsonb NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_log_time ON event_log (time);

CREATE TABLE webhook_endpoints (
    id                          text PRIMARY KEY,
    owner_id                    text NOT NULL,
    url                         text NOT NULL,
    description                 text NOT NULL DEFAULT '',
    -- Filters: exact types or "<prefix>.*" patterns.
    event_types                 text[] NOT NULL,
    -- What the owner's token allowed when the endpoint was created; checked per event.
    scopes                      text[] NOT NULL,
    secret                      text NOT NULL,
    previous_secret             text,
    previous_secret_expires_at  timestamptz,
    enabled                     boolean NOT NULL DEFAULT true,
    disabled_reason             text,
    failing_since               timestamptz,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_owner ON webhook_endpoints (owner_id, id);

-- Chat groups (and mailing lists) of one request, phase and department.
CREATE TABLE channels (
    id             text PRIMARY KEY,
    name           text NOT NULL,
    kind           text NOT NULL
                   CHECK (kind IN ('DINGTALK', 'WECOM', 'FEISHU', 'SLACK', 'WEBHOOK', 'EMAIL')),
    request_id     text NOT NULL,
    phase          text NOT NULL
                   CHECK (phase IN ('PREPARATION', 'EXECUTION', 'ACCEPTANCE', 'CLOSED')),
    department_id  text NOT NULL,
    url            text NOT NULL,
    secret         text,
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (request_id, phase, department_id, kind)
);

-- One message of one event to one target; the unique key is the no-duplicate guarantee.
CREATE TABLE deliveries (
    id                text PRIMARY KEY,
    event_id          text NOT NULL,
    event_type        text NOT NULL,
    target_kind       text NOT NULL CHECK (target_kind IN ('WEBHOOK', 'CHANNEL', 'EMAIL')),
    target_id         text NOT NULL,
    payload           jsonb NOT NULL,
    status            text NOT NULL DEFAULT 'PENDING'
                      CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'EXHAUSTED')),
    attempts          integer NOT NULL DEFAULT 0,
    last_status_code  integer,
    last_error        text,
    next_attempt_at   timestamptz,
    -- Set while a worker is sending; a lease that ran out means that worker died.
    lease_expires_at  timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, target_kind, target_id)
);
CREATE INDEX deliveries_target ON deliveries (target_kind, target_id, id DESC);

CREATE TABLE delivery_attempts (
    delivery_id  text NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    number       integer NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    outcome      text CHECK (outcome IN ('SUCCEEDED', 'FAILED', 'UNKNOWN')),
    status_code  integer,
    error        text,
    PRIMARY KEY (delivery_id, number)
);

CREATE TABLE notification_preferences (
    person_id            text PRIMARY KEY,
    quiet_start          time,
    quiet_end            time,
    time_zone            text,
    digest_for_informed  boolean NOT NULL DEFAULT true,
    normal_channels      text[] NOT NULL DEFAULT '{IN_APP,EMAIL}',
    urgent_channels      text[] NOT NULL DEFAULT '{IN_APP,EMAIL}',
    language             text NOT NULL DEFAULT 'zh' CHECK (language IN ('zh', 'en')),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- What an Informed person will read in the next daily digest.
CREATE TABLE digest_items (
    id               text PRIMARY KEY,
    person_id        text NOT NULL,
    source_event_id  text NOT NULL,
    type             text NOT NULL,
    title            text NOT NULL,
    body             text NOT NULL,
    link             text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    digest_id        text,
    UNIQUE (source_event_id, person_id)
);
CREATE INDEX digest_items_pending ON digest_items (person_id, id) WHERE digest_id IS NULL;
