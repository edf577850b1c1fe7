"""Sources of index events: the PyPI changelog (XML-RPC) and JSON API."""
