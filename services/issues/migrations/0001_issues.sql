-- Issues (handbook template 5) and the SLA clocks that time their answers.

-- Readable issue codes (ISS-2026-0001) count per year.
CREATE TABLE issue_code_counters (
    year  integer PRIMARY KEY,
    last  integer NOT NULL
);

CREATE TABLE issues (
    id                  text PRIMARY KEY,
    code                text NOT NULL UNIQUE,
    -- The request lives in the requests service; request_replicas holds our copy of it.
    request_id          text NOT NULL,
    task_id             text,
    title               text NOT NULL,
    description         text NOT NULL DEFAULT '',
    impact              text NOT NULL DEFAULT '',
    severity            text NOT NULL CHECK (severity IN ('CRITICAL', 'HIGH', 'MEDIUM', 'LOW')),
    urgent              boolean NOT NULL DEFAULT false,
    status              text NOT NULL CHECK (status IN ('REPORTED', 'ACKNOWLEDGED',
                            'PLAN_PROPOSED', 'IN_PROGRESS', 'WAITING', 'RESOLVED', 'VERIFIED',
                            'ARCHIVED')),
    reporter_id         text NOT NULL,
    lead_department_id  text NOT NULL,
    attempted_measures  text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX issues_request ON issues (request_id);

CREATE TABLE sla_clocks (
    id              text PRIMARY KEY,
    issue_id        text NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    metric          text NOT NULL CHECK (metric IN ('RESPONSE', 'PLAN')),
    target_minutes  integer NOT NULL CHECK (target_minutes > 0),
    started_at      timestamptz NOT NULL,
    -- The effective deadline: pausing moves it out by the paused time.
    due_at          timestamptz NOT NULL,
    paused_minutes  integer NOT NULL DEFAULT 0,
    paused_at       timestamptz,
    met_at          timestamptz,
    breached_at     timestamptz,
    state           text NOT NULL CHECK (state IN ('RUNNING', 'PAUSED', 'MET', 'BREACHED')),
    UNIQUE (issue_id, metric)
);
