-- Directory (regions, departments, people) and collaboration requests with their goals.

CREATE TABLE regions (
    id         text PRIMARY KEY,
    code       text NOT NULL UNIQUE,
    name       text NOT NULL,
    time_zone  text NOT NULL,
    calendar   jsonb NOT NULL
);

CREATE TABLE departments (
    id         text PRIMARY KEY,
    code       text NOT NULL UNIQUE,
    name       text NOT NULL,
    region_id  text NOT NULL REFERENCES regions (id),
    parent_id  text REFERENCES departments (id),
    head_id    text
);

CREATE TABLE people (
    id             text PRIMARY KEY,
    name           text NOT NULL,
    email          text NOT NULL UNIQUE,
    department_id  text NOT NULL REFERENCES departments (id),
    region_id      text NOT NULL REFERENCES regions (id),
    time_zone      text NOT NULL,
    roles          text[] NOT NULL DEFAULT '{MEMBER}'
);

ALTER TABLE departments ADD FOREIGN KEY (head_id) REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED;

-- Readable request codes (CR-2026-0001) count per year.
CREATE TABLE request_code_counters (
    year  integer PRIMARY KEY,
    last  integer NOT NULL
);

CREATE TABLE collab_requests (
    id                  text PRIMARY KEY,
    code                text NOT NULL UNIQUE,
    kind                text NOT NULL,
    title               text NOT NULL,
    background          text NOT NULL DEFAULT '',
    status              text NOT NULL,
    phase               text NOT NULL,
    lead_department_id  text NOT NULL REFERENCES departments (id),
    approver_id         text REFERENCES people (id),
    created_by          text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX collab_requests_lead ON collab_requests (lead_department_id);

CREATE TABLE request_participants (
    request_id     text NOT NULL REFERENCES collab_requests (id) ON DELETE CASCADE,
    department_id  text NOT NULL REFERENCES departments (id),
    PRIMARY KEY (request_id, department_id)
);
CREATE INDEX request_participants_department ON request_participants (department_id);

CREATE TABLE goals (
    id          text PRIMARY KEY,
    request_id  text NOT NULL REFERENCES collab_requests (id) ON DELETE CASCADE,
    position    integer NOT NULL,
    metric      text NOT NULL,
    target      numeric NOT NULL,
    unit        text NOT NULL,
    due_date    date NOT NULL,
    regions     text[] NOT NULL DEFAULT '{}',
    UNIQUE (request_id, position)
);

CREATE TABLE resource_needs (
    id                      text PRIMARY KEY,
    request_id              text NOT NULL REFERENCES collab_requests (id) ON DELETE CASCADE,
    position                integer NOT NULL,
    kind                    text NOT NULL,
    description             text NOT NULL,
    quantity                numeric NOT NULL,
    unit                    text NOT NULL,
    provider_department_id  text REFERENCES departments (id),
    UNIQUE (request_id, position)
);
