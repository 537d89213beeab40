"""Access grants: time-limited, reasoned access for developers and helpdesk."""
