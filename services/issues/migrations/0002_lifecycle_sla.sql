-- The whole of template 5 (reporting side, responsibility, plan, resolution), the timeline of
-- every change, and SLA clocks counted in a calendar's working minutes with pauses.

ALTER TABLE issues
    ADD COLUMN reporting_department_id  text,
    ADD COLUMN reporting_region_id      text,
    ADD COLUMN responsible_department_id text,
    ADD COLUMN owner_id                 text,
    ADD COLUMN plan                     text NOT NULL DEFAULT '',
    ADD COLUMN resolution               text NOT NULL DEFAULT '',
    -- WAITING returns to the status it interrupted.
    ADD COLUMN status_before_waiting    text,
    ADD COLUMN escalation_level         integer NOT NULL DEFAULT 0
        CHECK (escalation_level BETWEEN 0 AND 3),
    -- A problem raised from a progress report becomes at most one issue.
    ADD COLUMN source_problem_id        text UNIQUE;
-- Until someone is named, the lead department is responsible too.
UPDATE issues SET responsible_department_id = lead_department_id;
ALTER TABLE issues ALTER COLUMN responsible_department_id SET NOT NULL;
CREATE INDEX issues_task ON issues (task_id) WHERE task_id IS NOT NULL;
CREATE INDEX issues_created ON issues (created_at);

CREATE TABLE issue_timeline (
    seq          bigserial PRIMARY KEY,
    issue_id     text NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL,
    actor_id     text,  -- null: the system (SLA timers, calendar changes)
    action       text NOT NULL,
    from_status  text,
    to_status    text,
    note         text NOT NULL DEFAULT ''
);
CREATE INDEX issue_timeline_issue ON issue_timeline (issue_id, seq);

ALTER TABLE sla_clocks
    ADD COLUMN calendar text NOT NULL DEFAULT 'AROUND_THE_CLOCK'
        CHECK (calendar IN ('AROUND_THE_CLOCK', 'BUSINESS_HOURS')),
    -- Whose working hours count: the responsible department's region.
    ADD COLUMN region_id          text,
    -- Minutes counted before the current running segment, which began at segment_started_at.
    ADD COLUMN segment_started_at timestamptz,
    ADD COLUMN consumed_minutes   double precision NOT NULL DEFAULT 0,
    -- Frozen when the awaited step happens (acknowledgement, plan): the SLA's elapsed time.
    ADD COLUMN elapsed_minutes    double precision,
    ADD COLUMN warn_at_percents   integer[] NOT NULL DEFAULT '{50,75}';
UPDATE sla_clocks SET segment_started_at = started_at;
ALTER TABLE sla_clocks ALTER COLUMN segment_started_at SET NOT NULL;
CREATE INDEX sla_clocks_open_by_region ON sla_clocks (region_id) WHERE met_at IS NULL;

-- Each warning threshold of a clock is announced once, however often its timer is re-armed.
CREATE TABLE sla_warnings (
    clock_id    text NOT NULL REFERENCES sla_clocks (id) ON DELETE CASCADE,
    percent     integer NOT NULL,
    emitted_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (clock_id, percent)
);
