"""Partner clients: integrations registered in the directory, principals of their own."""
