"""GraphQL building blocks shared by the subgraphs."""
