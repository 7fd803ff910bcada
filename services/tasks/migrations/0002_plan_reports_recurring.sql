-- The full task plan (hierarchy, milestones, dependencies, progress, actual dates, where a
-- task came from), progress reports (handbook template 3), communication plans copied from
-- the requests service, and recurring operations.

ALTER TABLE tasks
    ADD COLUMN parent_id       text REFERENCES tasks (id),
    ADD COLUMN phase           text,
    ADD COLUMN is_milestone    boolean NOT NULL DEFAULT false,
    ADD COLUMN progress        integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    ADD COLUMN planned_start   timestamptz,
    ADD COLUMN started_at      timestamptz,
    ADD COLUMN completed_at    timestamptz,
    ADD COLUMN source          text NOT NULL DEFAULT 'PLAN'
                               CHECK (source IN ('PLAN', 'ACTION_ITEM', 'RECURRING')),
    -- What created the task outside a plan: an action item id, or a recurring occurrence.
    -- Unique per source, so replayed events and re-run generation create nothing twice.
    ADD COLUMN source_ref      text,
    ADD COLUMN recurring_task_id text,
    ADD COLUMN region_id       text,
    -- Per-task reminder offsets (business minutes before due); NULL means the defaults.
    ADD COLUMN reminder_offsets integer[];
CREATE UNIQUE INDEX tasks_source_ref ON tasks (source, source_ref) WHERE source_ref IS NOT NULL;
CREATE INDEX tasks_parent ON tasks (parent_id) WHERE parent_id IS NOT NULL;

-- Finish-to-start: task_id may start only once depends_on_id is DONE.
CREATE TABLE task_dependencies (
    task_id        text NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    depends_on_id  text NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    PRIMARY KEY (task_id, depends_on_id),
    CHECK (task_id <> depends_on_id)
);
CREATE INDEX task_dependencies_reverse ON task_dependencies (depends_on_id);

-- The report cadence and deadline of each request, from requests.communication_plan.set.
CREATE TABLE report_plans (
    request_id        text PRIMARY KEY,
    cadence           text NOT NULL CHECK (cadence IN ('WEEKLY', 'MONTHLY')),
    deadline_weekday  integer NOT NULL CHECK (deadline_weekday BETWEEN 1 AND 7),
    deadline_time     time NOT NULL,
    time_zone         text NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE progress_reports (
    id             text PRIMARY KEY,
    request_id     text NOT NULL,
    department_id  text NOT NULL,
    period_start   date NOT NULL,
    period_end     date NOT NULL CHECK (period_end >= period_start),
    submitted_by   text NOT NULL,
    submitted_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (request_id, department_id, period_start, period_end)
);

CREATE TABLE progress_report_items (
    report_id         text NOT NULL REFERENCES progress_reports (id) ON DELETE CASCADE,
    position          integer NOT NULL,
    task_id           text NOT NULL REFERENCES tasks (id),
    planned_progress  integer NOT NULL CHECK (planned_progress BETWEEN 0 AND 100),
    actual_progress   integer NOT NULL CHECK (actual_progress BETWEEN 0 AND 100),
    status            text NOT NULL,
    delay_reason      text,
    PRIMARY KEY (report_id, position)
);

CREATE TABLE report_problems (
    id                  text PRIMARY KEY,
    report_id           text NOT NULL REFERENCES progress_reports (id) ON DELETE CASCADE,
    position            integer NOT NULL,
    task_id             text REFERENCES tasks (id),
    description         text NOT NULL,
    impact              text NOT NULL,
    attempted_measures  text NOT NULL,
    raised_at           timestamptz,
    raised_by           text,
    issue_id            text
);
CREATE INDEX report_problems_report ON report_problems (report_id, position);

CREATE TABLE report_resource_requests (
    report_id               text NOT NULL REFERENCES progress_reports (id) ON DELETE CASCADE,
    position                integer NOT NULL,
    description             text NOT NULL,
    provider_department_id  text,
    PRIMARY KEY (report_id, position)
);

-- A recurring operation (e.g. the monthly finance close): an RRULE read in the anchor
-- region's time zone; instances are tasks with source RECURRING.
CREATE TABLE recurring_tasks (
    id                       text PRIMARY KEY,
    request_id               text NOT NULL,
    title                    text NOT NULL,
    description              text NOT NULL DEFAULT '',
    rrule                    text NOT NULL,
    region_id                text NOT NULL,
    dtstart                  timestamp NOT NULL,
    accountable_id           text NOT NULL,
    consolidation_title      text NOT NULL,
    consolidation_department_id text NOT NULL,
    consolidation_business_days integer NOT NULL CHECK (consolidation_business_days >= 0),
    -- [{"region_id": ..., "department_ids": [...]}]: who does each region's instance.
    regions                  jsonb NOT NULL,
    created_by               text NOT NULL,
    created_at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recurring_tasks_request ON recurring_tasks (request_id, id);
