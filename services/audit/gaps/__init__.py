"""Every gap policy of the audit trail: sequence holes, tail gaps, grace, resends."""
