"""The event bus: CloudEvents envelope, transactional outbox, relay and consumers."""

from shared.events.envelope import EventEnvelope, new_event

__all__ = ["EventEnvelope", "new_event"]
