"""notify subgraph: in-app notifications routed from other services' events."""
