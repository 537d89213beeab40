"""Reports of the audit service."""
