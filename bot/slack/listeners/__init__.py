"""Bolt listeners. Each acks at once and leaves the work to a background task."""
