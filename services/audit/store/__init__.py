"""Store of the audit service."""
