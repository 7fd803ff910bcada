"""requests subgraph: directory, collaboration requests and their lifecycle."""
