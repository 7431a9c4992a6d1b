-- Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d).
-- One database per service, as the architecture requires, plus `auth` for the API-key
-- and tenant registry that every service reads. Schemas come from `outcomes migrate --all`.
CREATE DATABASE intake;
CREATE DATABASE decisions;
CREATE DATABASE notifier;
CREATE DATABASE auth;
