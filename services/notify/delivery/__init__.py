"""Deliveries: one arq job per message to one target, every attempt recorded, retries."""
