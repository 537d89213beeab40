"""Stats of the audit service."""
