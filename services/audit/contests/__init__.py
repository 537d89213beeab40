"""Contests: a worker disputes one access on their history (request, incident, alert)."""
