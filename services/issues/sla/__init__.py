"""SLA clocks of issues: policies, working-time arithmetic, timers, warnings and escalation.

* :mod:`.repository`: the SQL of clocks and warning records.
* :mod:`.clocks`: starting, stopping, pausing, resuming and recomputing clocks, and the
  durable timers behind them (one per clock for the breach, one per clock and warning
  percentage), re-armed whenever a deadline moves.
* :mod:`.alerts`: what happens when those timers fire (warnings, breaches, breach messages
  held for their recipient's working time).
* :mod:`.escalation`: escalation levels, their recipients, and messages deferred to each
  recipient's next working minute.
"""
