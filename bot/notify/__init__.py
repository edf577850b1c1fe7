"""Notifiers and the outbox they are fed from."""
