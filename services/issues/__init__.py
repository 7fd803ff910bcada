"""issues subgraph: issue log with SLA clocks (handbook template 5)."""
