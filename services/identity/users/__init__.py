"""Accounts: creation, profiles, activation, passwords, lockout state."""
