"""Secondments: staff on loan between departments and regions."""
