-- The search box: the latest searchable document of every request, task, issue, lesson and
-- person, as its owning service published it (search.document.changed events).
--
-- search_text and search_grams are made by shared/search_text.py when the event is stored:
-- the n-grams (bigrams of Chinese runs, trigrams of Latin runs) need no extension, and the
-- GIN index on them narrows the candidates that strpos on search_text then confirms. No
-- row exists before this migration (the producers' reindex command fills the table), so
-- there is nothing to backfill here.

CREATE TABLE search_documents (
    kind          text NOT NULL CHECK (kind IN ('REQUEST', 'TASK', 'ISSUE', 'LESSON', 'PERSON')),
    id            text NOT NULL,
    request_id    text,                   -- who may see this request may find it; null: a person
    code          text,
    title         text NOT NULL,
    body          text NOT NULL,
    -- departments that find it from outside its request (an issue's lead and responsible)
    departments   text[] NOT NULL DEFAULT '{}',
    removed       boolean NOT NULL DEFAULT false,
    code_key      text,                   -- the code, normalised: a query equal to it ranks first
    title_text    text NOT NULL,          -- the title, normalised: all terms in it rank next
    search_text   text NOT NULL,
    search_grams  text[] NOT NULL,
    changed_at    timestamptz NOT NULL,   -- time of the event the document was taken from
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, id)
);

CREATE INDEX search_documents_grams ON search_documents USING gin (search_grams)
    WHERE NOT removed;
