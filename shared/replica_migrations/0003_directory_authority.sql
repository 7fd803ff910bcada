-- Callers' roles and departments come from the directory (the requests service's), read
-- here from the local copies through the same `directory_principals` view it defines.

ALTER TABLE person_replicas ADD COLUMN active boolean NOT NULL DEFAULT true;

CREATE TABLE partner_client_replicas (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    owner_id    text NOT NULL,
    scopes      text[] NOT NULL,
    enabled     boolean NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE VIEW directory_principals AS
    SELECT p.id, 'PERSON' AS kind, p.roles,
           ARRAY[p.department_id] || ARRAY(
               SELECT d.id FROM department_replicas d
               WHERE d.head_id = p.id AND d.id <> p.department_id ORDER BY d.id
           ) AS departments,
           p.region_id, '{}'::text[] AS scopes, p.active
    FROM person_replicas p
    UNION ALL
    SELECT c.id, 'PARTNER', '{PARTNER}'::text[], '{}'::text[], NULL, c.scopes, c.enabled
    FROM partner_client_replicas c;
