-- Lessons learned, searchable by words in Chinese or English.
--
-- Neither pg_trgm nor a Chinese text-search parser ships with every PostgreSQL we run on (the
-- embedded pgserver build has no contrib modules), so the search n-grams are computed by the
-- service: character bigrams of Chinese runs, trigrams of Latin words. They sit in a GIN-indexed
-- text[] that narrows the candidates; an exact substring test on search_text confirms each term.

CREATE TABLE lessons (
    id            text PRIMARY KEY,
    request_id    text NOT NULL REFERENCES collab_requests (id) ON DELETE CASCADE,
    title         text NOT NULL,
    body          text NOT NULL,
    tags          text[] NOT NULL DEFAULT '{}',
    author_id     text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    search_text   text NOT NULL,
    search_grams  text[] NOT NULL
);
CREATE INDEX lessons_request ON lessons (request_id, id);
CREATE INDEX lessons_grams ON lessons USING gin (search_grams);
