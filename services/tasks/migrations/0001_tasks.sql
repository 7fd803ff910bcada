-- Tasks of a collaboration request and their RACI assignments (handbook template 2).
-- request_id, person_id and department_id point at the requests service's data, known here
-- through replicas (shared/replica_migrations), so they carry no foreign keys.

CREATE TABLE tasks (
    id           text PRIMARY KEY,
    request_id   text NOT NULL,
    title        text NOT NULL,
    description  text NOT NULL DEFAULT '',
    status       text NOT NULL DEFAULT 'TODO'
                 CHECK (status IN ('TODO', 'IN_PROGRESS', 'BLOCKED', 'DONE', 'CANCELLED')),
    due_at       timestamptz,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
-- Ids are UUIDv7, so (request_id, id) lists a request's tasks in creation order.
CREATE INDEX tasks_request ON tasks (request_id, id);

CREATE TABLE raci_assignments (
    task_id        text NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    position       integer NOT NULL,
    role           text NOT NULL CHECK (role IN ('R', 'A', 'C', 'I')),
    person_id      text,
    department_id  text,
    PRIMARY KEY (task_id, position),
    CHECK (person_id IS NOT NULL OR department_id IS NOT NULL),
    -- The one accountable party is a person, not a department.
    CHECK (role <> 'A' OR person_id IS NOT NULL)
);
-- At most one A per task, whatever path writes the rows (the service also requires one).
CREATE UNIQUE INDEX raci_one_accountable ON raci_assignments (task_id) WHERE role = 'A';
CREATE INDEX raci_person ON raci_assignments (person_id) WHERE person_id IS NOT NULL;
CREATE INDEX raci_department ON raci_assignments (department_id) WHERE department_id IS NOT NULL;
