"""Projections of the audit service."""
