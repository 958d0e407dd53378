-- Least-privilege group roles (NOLOGIN): operators create login users and make them members.
--   iot_writer  the writer: INSERT and SELECT on device_telemetry and device_alerts, and TEMP
--               tables in this database for its COPY staging (writer/tables.ts). Nothing else:
--               no UPDATE, DELETE, TRUNCATE, DROP or DDL.
--   iot_reader  analytics and Grafana: SELECT on the tables and rollups, nothing else.
--
-- Roles are cluster-wide, but the migrate lock is per database: two databases of one cluster
-- migrated at once both see a role missing and both create it. The loser of that race gets
-- duplicate_object (or unique_violation on pg_authid) and carries on with the role the winner
-- made. A migrating role without CREATEROLE cannot create the roles: it then grants to those
-- that exist and warns about the others; migrate reports them on every run, with the fix.
-- Everything here is idempotent: an administrator can run this file again with psql, as the
-- owner of the tables, after creating missing roles.
DO $$
DECLARE
    r text;
    may_create boolean := (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user);
    -- CONNECT and TEMPORARY are PUBLIC's by default; granted explicitly so that they survive a
    -- hardening REVOKE ALL ON DATABASE ... FROM PUBLIC. Not on a template database (services
    -- never connect to one; PGlite, which the unit tests use, runs in template1 and fails there).
    grant_database boolean := NOT (SELECT datistemplate FROM pg_database WHERE datname = current_database());
BEGIN
    FOREACH r IN ARRAY ARRAY['iot_writer', 'iot_reader'] LOOP
        CONTINUE WHEN EXISTS (SELECT FROM pg_roles WHERE rolname = r);
        IF NOT may_create THEN
            RAISE WARNING 'role % does not exist and % may not create it (no CREATEROLE); no grants for it', r, current_user;
            CONTINUE;
        END IF;
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- created meanwhile by a migrate run on another database of this cluster
        END;
    END LOOP;

    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'iot_writer') THEN
        IF grant_database THEN
            EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO iot_writer', current_database());
        END IF;
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO iot_writer', current_schema());
        GRANT SELECT, INSERT ON device_telemetry, device_alerts TO iot_writer;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'iot_reader') THEN
        IF grant_database THEN
            EXECUTE format('GRANT CONNECT ON DATABASE %I TO iot_reader', current_database());
        END IF;
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO iot_reader', current_schema());
        GRANT SELECT ON device_telemetry, device_alerts, device_telemetry_1m, device_telemetry_1h TO iot_reader;
    END IF;
END
$$;
