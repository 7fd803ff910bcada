-- Local read-only copies of the requests service's directory and requests, kept up to date
-- from its events, for services that authorise or route by them (DESIGN: database per service).

CREATE TABLE request_replicas (
    id                          text PRIMARY KEY,
    code                        text NOT NULL,
    title                       text NOT NULL,
    status                      text NOT NULL,
    lead_department_id          text NOT NULL,
    participant_department_ids  text[] NOT NULL,
    updated_at                  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE department_replicas (
    id          text PRIMARY KEY,
    code        text NOT NULL,
    name        text NOT NULL,
    region_id   text NOT NULL,
    head_id     text,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE person_replicas (
    id             text PRIMARY KEY,
    name           text NOT NULL,
    email          text NOT NULL,
    department_id  text NOT NULL,
    region_id      text NOT NULL,
    time_zone      text NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
