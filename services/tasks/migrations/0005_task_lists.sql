-- The top-level tasks list (Query.tasks, repository.list_tasks): its filters and sorts.

-- Free text on title and description: search_text is the normalised text, search_grams its
-- n-grams (shared/search_text.py). Both are computed in Python on every write of either
-- column; rows from before are filled by the next migration, a Python step, since SQL
-- cannot compute the same n-grams.
ALTER TABLE tasks
    ADD COLUMN search_text  text,
    ADD COLUMN search_grams text[];
CREATE INDEX tasks_search_grams ON tasks USING gin (search_grams);

-- DUE_SOONEST pages by this key, tasks without a due time last (infinity sorts after every
-- time), ties by id; the dueAfter/dueBefore range reads the same expression.
CREATE INDEX tasks_due_order ON tasks ((coalesce(due_at, 'infinity'::timestamptz)), id);
-- overdue: open tasks by due time; the query repeats this WHERE so the index applies.
CREATE INDEX tasks_open_due ON tasks ((coalesce(due_at, 'infinity'::timestamptz)), id)
    WHERE status NOT IN ('DONE', 'CANCELLED');
-- UPDATED_NEWEST (read backwards).
CREATE INDEX tasks_updated_order ON tasks (updated_at, id);
-- statuses and source, each then in DUE_SOONEST order.
CREATE INDEX tasks_status_due ON tasks (status, (coalesce(due_at, 'infinity'::timestamptz)), id);
CREATE INDEX tasks_source_due ON tasks (source, (coalesce(due_at, 'infinity'::timestamptz)), id);
-- assigneeId and departmentId find their task ids by raci_person and raci_department (0001).

-- Who may see a request (repository.request_visible) from the departments' side: a member
-- of a few departments finds their requests by these rather than reading every copy.
CREATE INDEX request_replicas_lead ON request_replicas (lead_department_id);
CREATE INDEX request_replicas_participants ON request_replicas USING gin (participant_department_ids);
