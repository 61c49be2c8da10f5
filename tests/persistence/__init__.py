"""Tests of the persistence layer, run on SQLite and (with TOURNAMENT_TEST_PG_URL) on PostgreSQL."""
