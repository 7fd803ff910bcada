-- In-app notifications: one row per person per event that concerns them.

CREATE TABLE notifications (
    id               text PRIMARY KEY,
    recipient_id     text NOT NULL,
    type             text NOT NULL,
    title            text NOT NULL,
    body             text NOT NULL DEFAULT '',
    link             text,
    urgency          text NOT NULL DEFAULT 'NORMAL' CHECK (urgency IN ('NORMAL', 'URGENT')),
    source_event_id  text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    read_at          timestamptz,
    -- At-least-once delivery must never notify the same person twice about one event.
    UNIQUE (source_event_id, recipient_id)
);

-- A person's inbox, newest first (ids are UUIDv7, so they sort by creation time).
CREATE INDEX notifications_inbox ON notifications (recipient_id, id DESC);
-- The unread filter and unreadCount touch only unread rows.
CREATE INDEX notifications_unread ON notifications (recipient_id, id DESC) WHERE read_at IS NULL;
