#!/bin/sh
# First start of an empty data volume only: one schema per service in the
# shared database, owned by the application role. IF NOT EXISTS keeps it
# compatible with migrations that create their own schema.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE SCHEMA IF NOT EXISTS registry AUTHORIZATION "$POSTGRES_USER";
CREATE SCHEMA IF NOT EXISTS tickets AUTHORIZATION "$POSTGRES_USER";
CREATE SCHEMA IF NOT EXISTS hours AUTHORIZATION "$POSTGRES_USER";
CREATE SCHEMA IF NOT EXISTS fund AUTHORIZATION "$POSTGRES_USER";
CREATE SCHEMA IF NOT EXISTS activities AUTHORIZATION "$POSTGRES_USER";
SQL
