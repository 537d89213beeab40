"""Audit service: append-only, tamper-evident event store; access histories, alerts and reports."""
