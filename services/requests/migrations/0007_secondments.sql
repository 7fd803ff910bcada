-- Secondments: staff on loan between departments and regions, approved by both heads.

CREATE TABLE secondments (
    id                   text PRIMARY KEY,
    request_id           text REFERENCES collab_requests (id) ON DELETE SET NULL,
    person_id            text NOT NULL REFERENCES people (id),
    from_department_id   text NOT NULL REFERENCES departments (id),
    to_department_id     text NOT NULL REFERENCES departments (id),
    starts_on            date NOT NULL,
    ends_on              date NOT NULL CHECK (ends_on > starts_on),
    duties               text[] NOT NULL,
    evaluation_criteria  text[] NOT NULL,
    support              text[] NOT NULL DEFAULT '{}',
    status               text NOT NULL DEFAULT 'REQUESTED',
    requested_by         text NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX secondments_from ON secondments (from_department_id);
CREATE INDEX secondments_to ON secondments (to_department_id);

-- One decision per department head (lending and borrowing side).
CREATE TABLE secondment_approvals (
    secondment_id  text NOT NULL REFERENCES secondments (id) ON DELETE CASCADE,
    department_id  text NOT NULL REFERENCES departments (id),
    approver_id    text NOT NULL,
    decision       text NOT NULL,
    comment        text NOT NULL DEFAULT '',
    decided_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (secondment_id, department_id)
);
