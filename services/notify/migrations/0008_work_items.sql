-- myWork: the latest set of work items of every record, as its owning service derived it
-- (work.items.changed events). One row per item; department items are resolved to people at
-- read time, so a new member or head sees them at once.

CREATE TABLE work_sources (
    source      text PRIMARY KEY,          -- "<KIND>:<id>" of the record
    changed_at  timestamptz NOT NULL       -- time of the event the set was taken from
);

CREATE TABLE work_items (
    source         text NOT NULL REFERENCES work_sources (source) ON DELETE CASCADE,
    key            text NOT NULL,
    kind           text NOT NULL,
    role           text NOT NULL,
    title          text NOT NULL,
    target         text NOT NULL,
    target_id      text NOT NULL,
    request_id     text,
    person_id      text,
    department_id  text,
    heads_only     boolean NOT NULL DEFAULT false,
    due_at         timestamptz,
    -- the order of myWork: due first (no due time last), then urgency, then the item's id
    sort_due       timestamptz GENERATED ALWAYS AS (coalesce(due_at, 'infinity')) STORED,
    visible_from   timestamptz,
    at_risk_at     timestamptz,
    clock_paused   boolean NOT NULL DEFAULT false,
    has_clock      boolean NOT NULL DEFAULT false,
    urgency        smallint NOT NULL,
    since          timestamptz NOT NULL,   -- when it became this person's or department's
    PRIMARY KEY (source, key),
    CHECK (person_id IS NOT NULL OR department_id IS NOT NULL)
);

-- One ordered walk per way an item is the caller's (a page stops after its rows); the
-- columns counts and badges read are included, so those are index-only scans.
CREATE INDEX work_items_person ON work_items (person_id, sort_due, urgency, source, key)
    INCLUDE (kind, due_at, at_risk_at, clock_paused, visible_from)
    WHERE person_id IS NOT NULL;
CREATE INDEX work_items_department
    ON work_items (department_id, heads_only, sort_due, urgency, source, key)
    INCLUDE (kind, due_at, at_risk_at, clock_paused, visible_from)
    WHERE person_id IS NULL;
