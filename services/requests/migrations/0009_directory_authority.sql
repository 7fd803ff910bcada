-- Tokens say who calls; the directory says what they may do. People who left stay on record
-- (their names appear on past requests) but are refused; partner clients (integrations) are
-- principals of their own, never people. `directory_principals` is the one shape every
-- service reads callers from (the other services define it over their copies).

ALTER TABLE people ADD COLUMN active boolean NOT NULL DEFAULT true;

CREATE TABLE partner_clients (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    owner_id    text NOT NULL REFERENCES people (id),
    scopes      text[] NOT NULL,
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE VIEW directory_principals AS
    SELECT p.id, 'PERSON' AS kind, p.roles,
           ARRAY[p.department_id] || ARRAY(
               SELECT d.id FROM departments d
               WHERE d.head_id = p.id AND d.id <> p.department_id ORDER BY d.id
           ) AS departments,
           p.region_id, '{}'::text[] AS scopes, p.active
    FROM people p
    UNION ALL
    SELECT c.id, 'PARTNER', '{PARTNER}'::text[], '{}'::text[], NULL, c.scopes, c.enabled
    FROM partner_clients c;
