-- Indexes of the `issues` list (repository.list_issues). A page is WHERE <filter> ORDER BY id
-- DESC LIMIT n, so each index starts with the column a filter compares and ends with id:
-- walked backwards from a value it yields that value's issues newest first, and the page
-- stops after n. The page's ids are read by an id-only query; the INCLUDE columns let it test
-- the other filters and the caller's departments in the index, without reading the rows.

-- `statuses`. Closed statuses belong to old issues, which a walk of the primary key reaches
-- only after every newer issue: this index is what finds them, so it carries every column
-- the other filters and visibility test.
CREATE INDEX issues_status_list ON issues (status, id)
    INCLUDE (lead_department_id, responsible_department_id, request_id, urgent);

-- `responsibleDepartmentId`, and a department seeing the issues it is responsible for. No
-- status here: with a status filter, issues_status_list leads (see above).
CREATE INDEX issues_responsible_list ON issues (responsible_department_id, id)
    INCLUDE (lead_department_id, urgent);

-- A department seeing the issues it leads.
CREATE INDEX issues_lead_list ON issues (lead_department_id, id)
    INCLUDE (responsible_department_id, urgent);

-- `requestId`, the requests a department takes part in, and a request's issues (newest
-- first). It serves every query issues_request served, so that one goes.
CREATE INDEX issues_request_list ON issues (request_id, id)
    INCLUDE (lead_department_id, responsible_department_id, status, urgent);
DROP INDEX issues_request;

-- `urgent`: true is rare, so a partial index of those; false is most issues, which the
-- primary key walk finds at once.
CREATE INDEX issues_urgent_list ON issues (id)
    INCLUDE (lead_department_id, responsible_department_id, request_id, status) WHERE urgent;

-- The requests a caller's departments lead or take part in, as our replica says: looked up
-- first, so that a department on few requests finds their issues through issues_request_list.
CREATE INDEX request_replicas_lead ON request_replicas (lead_department_id);
CREATE INDEX request_replicas_participants ON request_replicas
    USING gin (participant_department_ids);
