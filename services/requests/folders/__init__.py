"""Document folders of a request with view and edit lists."""
