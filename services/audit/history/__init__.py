"""History of the audit service."""
