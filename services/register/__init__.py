"""Register service: GDPR register, DPIA, data-subject requests, incidents and breaches."""
