-- Meetings of a request (kickoff, progress, decision...), their agenda and attendees, the
-- minutes with decisions, and the action items the minutes assign.

CREATE TABLE meetings (
    id              text PRIMARY KEY,
    request_id      text NOT NULL REFERENCES collab_requests (id) ON DELETE CASCADE,
    kind            text NOT NULL,
    title           text NOT NULL,
    status          text NOT NULL DEFAULT 'SCHEDULED',
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL CHECK (ends_at > starts_at),
    mode            text NOT NULL,
    join_url        text,
    location        text,
    organizer_id    text NOT NULL,
    minutes_due_at  timestamptz NOT NULL,
    agenda_sent_at  timestamptz,
    agenda_sent_by  text,
    materials       jsonb NOT NULL DEFAULT '[]',
    -- iCalendar SEQUENCE: bumped on every change, so calendar clients replace the old invite.
    sequence        integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX meetings_request ON meetings (request_id, starts_at);

CREATE TABLE meeting_agenda_items (
    meeting_id    text NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    position      integer NOT NULL,
    title         text NOT NULL,
    presenter_id  text REFERENCES people (id),
    minutes       integer NOT NULL CHECK (minutes > 0),
    PRIMARY KEY (meeting_id, position)
);

CREATE TABLE meeting_attendees (
    meeting_id  text NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    person_id   text NOT NULL REFERENCES people (id),
    required    boolean NOT NULL,
    PRIMARY KEY (meeting_id, person_id)
);
CREATE INDEX meeting_attendees_person ON meeting_attendees (person_id);

CREATE TABLE meeting_minutes (
    meeting_id    text PRIMARY KEY REFERENCES meetings (id) ON DELETE CASCADE,
    summary       text NOT NULL,
    decisions     text[] NOT NULL DEFAULT '{}',
    published_at  timestamptz NOT NULL DEFAULT now(),
    published_by  text NOT NULL,
    late          boolean NOT NULL DEFAULT false
);

CREATE TABLE action_items (
    id             text PRIMARY KEY,
    meeting_id     text NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    request_id     text NOT NULL REFERENCES collab_requests (id) ON DELETE CASCADE,
    position       integer NOT NULL,
    title          text NOT NULL,
    owner_id       text NOT NULL REFERENCES people (id),
    department_id  text NOT NULL REFERENCES departments (id),
    due_at         timestamptz NOT NULL,
    UNIQUE (meeting_id, position)
);
