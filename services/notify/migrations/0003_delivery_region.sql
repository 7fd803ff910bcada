-- The region whose workers send a delivery: a chat group's department's region, an e-mail
-- recipient's region; NULL (the notify service's own region) for partner webhooks. With
-- LIAISON_REGIONAL_QUEUES on, the send job goes to that region's queue, so a region's chat
-- robots and SMTP relay are reached from inside the region.
ALTER TABLE deliveries ADD COLUMN region text;
