"""Kickoff outputs: communication plan, risk register, channel names."""
