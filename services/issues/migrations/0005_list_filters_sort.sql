-- Filters and sorts of the `issues` list (repository.ListFilter, IssueSort). Each filter is
-- one predicate with an index below; the page SQL is described in repository.py.

-- `text`: code, title and description as shared/search_text.py makes them (document()), the
-- n-grams in a GIN index. repository.insert_issue writes both; the issues stored before are
-- filled by the Python step 0006 (SQL cannot make the same n-grams).
ALTER TABLE issues ADD COLUMN search_text text, ADD COLUMN search_grams text[];
CREATE INDEX issues_search ON issues USING gin (search_grams);

-- `reporterId`, `ownerId` (`leadDepartmentId` has issues_lead_list, `regionId` goes through
-- the responsible departments of the region and issues_responsible_list).
CREATE INDEX issues_reporter_list ON issues (reporter_id, id);
CREATE INDEX issues_owner_list ON issues (owner_id, id) WHERE owner_id IS NOT NULL;

-- `severities` and the SEVERITY sort: the weight repository.SEVERITY_WEIGHT writes (4 for
-- CRITICAL down to 1 for LOW), so one severity is walked newest first and the sort most
-- severe, then newest first.
CREATE INDEX issues_severity_list ON issues ((CASE severity WHEN 'CRITICAL' THEN 4
    WHEN 'HIGH' THEN 3 WHEN 'MEDIUM' THEN 2 ELSE 1 END), id);

-- `reportedAfter` / `reportedBefore` use issues_created (0002).

-- NEAREST_DEADLINE: the earliest deadline among the issue's RUNNING clocks, null if none. A
-- trigger keeps it, so every writer of clocks (the release still running during a rollout
-- too) keeps it current. The sort reads it as coalesce(..., 'infinity'): no deadline last.
ALTER TABLE issues ADD COLUMN next_deadline timestamptz;
CREATE FUNCTION issues_set_next_deadline() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE issues i
       SET next_deadline = (SELECT min(c.due_at) FROM sla_clocks c
                             WHERE c.issue_id = NEW.issue_id AND c.state = 'RUNNING')
     WHERE i.id = NEW.issue_id;
    RETURN NULL;
END $$;
CREATE TRIGGER sla_clocks_next_deadline AFTER INSERT OR UPDATE OF state, due_at ON sla_clocks
    FOR EACH ROW EXECUTE FUNCTION issues_set_next_deadline();
UPDATE issues i
   SET next_deadline = (SELECT min(c.due_at) FROM sla_clocks c
                         WHERE c.issue_id = i.id AND c.state = 'RUNNING')
 WHERE EXISTS (SELECT 1 FROM sla_clocks c WHERE c.issue_id = i.id AND c.state = 'RUNNING');
CREATE INDEX issues_deadline_list ON issues ((coalesce(next_deadline, 'infinity')), id);

-- `clockStates`: when the clock's first warning threshold is (or was) reached, as
-- sla.arithmetic.first_warning_at computes it on every (re)start of a clock; null when no
-- warning is configured. Running clocks stored before are filled from the warning timer the
-- clock armed for it, or from when that warning went out.
ALTER TABLE sla_clocks ADD COLUMN warn_at timestamptz;
UPDATE sla_clocks c
   SET warn_at = coalesce(
       (SELECT t.due_at FROM timers t
         WHERE t.kind = 'sla.warning'
           AND t.subject = c.id || ':' || (SELECT min(p) FROM unnest(c.warn_at_percents) p
                                            WHERE p > 0 AND p < 100)),
       (SELECT min(w.emitted_at) FROM sla_warnings w
         WHERE w.clock_id = c.id
           AND w.percent = (SELECT min(p) FROM unnest(c.warn_at_percents) p
                             WHERE p > 0 AND p < 100)))
 WHERE c.state = 'RUNNING';
-- The clocks not yet stopped by state, then deadline: each state of the filter is a range of
-- it (repository.CLOCK_STATES).
CREATE INDEX sla_clocks_open_state ON sla_clocks (state, due_at) INCLUDE (issue_id, warn_at)
    WHERE met_at IS NULL;
