-- Wakes the relays, which LISTEN on liaison_outbox, when events are written, so an event
-- need not wait for the next poll. Once per statement; PostgreSQL sends a notification only
-- when (and if) the transaction commits, and folds identical ones of one transaction.
CREATE FUNCTION outbox_wakeup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('liaison_outbox', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_wakeup AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_wakeup();
