-- Document folders per request, department and file type (the handbook's cloud-drive layout),
-- with view and edit lists. Only metadata and links: files stay on the drive.

CREATE TABLE document_folders (
    id             text PRIMARY KEY,
    request_id     text NOT NULL REFERENCES collab_requests (id) ON DELETE CASCADE,
    department_id  text NOT NULL REFERENCES departments (id),
    file_type      text NOT NULL,
    path           text NOT NULL,
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (request_id, department_id, file_type)
);

-- An entry grants a person or a whole department VIEW or EDIT (EDIT includes VIEW).
CREATE TABLE folder_access (
    folder_id      text NOT NULL REFERENCES document_folders (id) ON DELETE CASCADE,
    grantee_kind   text NOT NULL CHECK (grantee_kind IN ('PERSON', 'DEPARTMENT')),
    grantee_id     text NOT NULL,
    access         text NOT NULL CHECK (access IN ('VIEW', 'EDIT')),
    PRIMARY KEY (folder_id, grantee_kind, grantee_id)
);

CREATE TABLE folder_links (
    id         text PRIMARY KEY,
    folder_id  text NOT NULL REFERENCES document_folders (id) ON DELETE CASCADE,
    title      text NOT NULL,
    url        text NOT NULL,
    added_by   text NOT NULL,
    added_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX folder_links_folder ON folder_links (folder_id, added_at);
