"""The fault suite: the whole stack on servers the test owns, under load, broken in turn."""
