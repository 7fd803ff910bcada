-- Personal calendar feeds: one secret token per person. The hash finds the person from a
-- feed URL; the sealed token (shared/secrets_box.py) lets calendarFeedUrl show the same URL
-- again. No row means no feed: revoking deletes it.

CREATE TABLE calendar_feeds (
    person_id     text PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    token_hash    bytea NOT NULL UNIQUE,
    sealed_token  text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    rotated_at    timestamptz
);
