"""Playbooks: planned, approved, audited and resumable admin responses."""
