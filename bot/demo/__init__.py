"""`warden demo`: three incidents from PyPI's history, replayed end to end, offline."""
