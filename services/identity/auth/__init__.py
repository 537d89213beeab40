"""Login, lockout, sessions, refresh tokens, logout."""
