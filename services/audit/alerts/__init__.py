"""Alerts of the audit service."""
