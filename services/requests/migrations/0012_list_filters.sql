-- Filters and orders of the `requests` and `people` lists (repository.list_requests,
-- directory/repository.list_people). Each filter is one predicate with an index of its own.

-- Free text (Chinese and English), as lessons search (0006): n-grams in a GIN-indexed text[]
-- narrow the candidates, a substring test on search_text confirms each word. A request's text
-- is its code, title, background and goals' metrics; a person's, the name and e-mail. Both
-- are written with every change of those (repository._refresh_list_keys,
-- directory/repository.upsert_person); the rows already here are filled by the next step,
-- 0013_fill_search.py, in Python, as SQL cannot compute the same n-grams.
ALTER TABLE collab_requests ADD COLUMN search_text text, ADD COLUMN search_grams text[];
CREATE INDEX collab_requests_search ON collab_requests USING gin (search_grams);

ALTER TABLE people ADD COLUMN search_text text, ADD COLUMN search_grams text[];
CREATE INDEX people_search ON people USING gin (search_grams);

-- `people` pages by name, then id, all of them or one department's.
CREATE INDEX people_by_name ON people (name, id);
CREATE INDEX people_department_by_name ON people (department_id, name, id);

-- The NEAREST_MILESTONE order: the due day of the request's earliest milestone that is today
-- or later in its lead department's region, 'infinity' when there is none or the request has
-- ended (REJECTED, CLOSED, CANCELLED), so those sort last and the key is never NULL. Written
-- with every change of the form or the status (repository._next_milestone, the same SQL as
-- here) and moved on by the upkeep timer armed below (services/requests/list_upkeep.py)
-- once a milestone's day has ended.
ALTER TABLE collab_requests ADD COLUMN next_milestone_on date NOT NULL DEFAULT 'infinity';
UPDATE collab_requests r SET next_milestone_on = CASE
    WHEN r.status IN ('REJECTED', 'CLOSED', 'CANCELLED') THEN 'infinity'::date
    ELSE coalesce((SELECT min(m.due_date) FROM milestones m
                    WHERE m.request_id = r.id AND m.due_date >= (
                          SELECT (now() AT TIME ZONE g.time_zone)::date
                            FROM departments d JOIN regions g ON g.id = d.region_id
                           WHERE d.id = r.lead_department_id)), 'infinity') END;
CREATE INDEX collab_requests_next_milestone ON collab_requests (next_milestone_on, id);

-- The UPDATED_NEWEST order and the updatedAfter/updatedBefore range.
CREATE INDEX collab_requests_updated ON collab_requests (updated_at, id);
-- createdAfter/createdBefore.
CREATE INDEX collab_requests_created ON collab_requests (created_at);
-- `phase`, walked newest first like the other equality filters (0010).
CREATE INDEX collab_requests_phase_list ON collab_requests (phase, id);
-- regionId: a request's region is its lead department's; the departments of a region lead
-- to their requests through collab_requests_lead_list.
CREATE INDEX departments_region ON departments (region_id);

INSERT INTO timers (id, kind, subject, due_at)
VALUES (gen_random_uuid(), 'requests.list_upkeep', 'lists', now())
ON CONFLICT (kind, subject) DO UPDATE SET due_at = now(), fired_at = NULL,
    version = timers.version + 1;
