#!/bin/sh
# Patroni's post_bootstrap: run once on the first primary, right after initdb, with a
# connection string for the superuser as its argument. Creates launchday's role (SCRAM
# password from LAUNCHDAY_DB_PASSWORD) and its database, which launchday's own
# migrations then fill (`launchday db upgrade`, or any server on start).
set -eu
: "${LAUNCHDAY_DB_PASSWORD:?LAUNCHDAY_DB_PASSWORD must be set in Patroni's environment}"
psql "$1" --no-psqlrc -v ON_ERROR_STOP=1 -v password="$LAUNCHDAY_DB_PASSWORD" <<'SQL'
CREATE ROLE launchday LOGIN PASSWORD :'password';
CREATE DATABASE launchday OWNER launchday;
SQL
