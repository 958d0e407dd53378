-- Runs once, when the timescaledb container initialises an empty data volume: the schema
-- registry's own role and database (Apicurio keeps its schemas there, so schema ids survive
-- a restart; in memory they would not, and every record in Kafka would become undecodable).
CREATE ROLE apicurio WITH LOGIN PASSWORD 'apicurio_password';
CREATE DATABASE apicurio OWNER apicurio;
