-- Indexes of the `requests` list (repository.list_requests). A page is WHERE <filter> ORDER BY
-- id DESC LIMIT n, so each index starts with the column a filter compares and ends with id:
-- walked backwards from a value it yields that value's requests newest first, and the page
-- stops after n. The page's ids are read by an id-only query; the INCLUDE columns let it test
-- the other filter and the caller's department in the index, without reading the rows.

-- `status`. Closed requests are the old ones, which a walk of the primary key reaches only
-- after every newer request: this index finds them, so it carries what the other filter and
-- a lead department test. It serves every query collab_requests_status served.
CREATE INDEX collab_requests_status_list ON collab_requests (status, id)
    INCLUDE (kind, lead_department_id);
DROP INDEX collab_requests_status;

-- `kind`.
CREATE INDEX collab_requests_kind_list ON collab_requests (kind, id) INCLUDE (lead_department_id);

-- A department seeing the requests it leads; it also serves the foreign key to departments,
-- as collab_requests_lead did.
CREATE INDEX collab_requests_lead_list ON collab_requests (lead_department_id, id) INCLUDE (kind);
DROP INDEX collab_requests_lead;

-- A department seeing the requests it takes part in: the index alone gives their ids, newest
-- first. It also serves the foreign key to departments, as request_participants_department did.
CREATE INDEX request_participants_department_list ON request_participants
    (department_id, request_id);
DROP INDEX request_participants_department;
