#!/bin/sh
# First start of the compose PostgreSQL: one database per service, and the audit role.
set -eu
for db in identity records register audit; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" -c "CREATE DATABASE $db"
done
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" \
  -c "CREATE ROLE audit_app LOGIN PASSWORD '${AUDIT_APP_PASSWORD}'"
