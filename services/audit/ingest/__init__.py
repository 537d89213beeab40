"""Ingest of the audit service."""
