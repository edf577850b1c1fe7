"""Detectors turn index events (and scheduled sweeps) into findings."""
