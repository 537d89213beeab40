"""Identity service: accounts, role profiles, lockout, sessions, access grants and signing keys."""
