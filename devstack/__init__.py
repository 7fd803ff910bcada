"""Development stack: starts every Liaison process on one machine, for `./liaison run` and tests."""
