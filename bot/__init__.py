"""index-warden: incident response for the admins of a Python package index."""

__version__ = "0.1.0"
