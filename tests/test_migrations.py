"""Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from voiceapp.db import Base, alembic_config


def _differences(url: str) -> list:
    engine = create_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    return differences


def test_migrations_produce_the_models_schema(database_url):
    assert _differences(database_url) == []


def test_migrations_go_down_and_up_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'round-trip.sqlite3'}"
    config = alembic_config(url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    engine.dispose()
    command.upgrade(config, "head")
    assert _differences(url) == []


def test_conferences_and_people_are_sealed_again_over_what_a_child_is_told_unless_altered(
        tmp_path):
    """0006 seals a conference's date and place with its chair, and a person's name; a row
    whose seal had already failed is not vouched for now."""
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from voiceapp import crypto, integrity
    from voiceapp.db import UTCDateTime

    url = f"sqlite:///{tmp_path / 'reseal.sqlite3'}"
    secret = "a-test-instance-secret-" * 2
    key = crypto.derive_key(secret.encode(), "instance/row-seal")
    config = alembic_config(url)
    config.attributes["secret_key"] = secret
    command.upgrade(config, "0005")
    conference = sa.table("conference", sa.column("id"), sa.column("organisation_id"),
                          sa.column("reference"), sa.column("starts_at", UTCDateTime()),
                          sa.column("kind"), sa.column("chair_id"),
                          sa.column("created_at", UTCDateTime()), sa.column("seal"))
    when = datetime(2030, 5, 1, 9, tzinfo=UTC)
    good = integrity.seal_over("conference", [1, 1, 7], key=key)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO organisation (id, name, exit_url, out_of_hours_phone, languages, "
            "retention_days_after_recorded, retention_days_after_meeting, created_at, "
            "duty_email, out_of_hours_email) VALUES (1, 'Council', '', '', '', 30, 90, "
            "'2026-01-01 00:00:00', '', '')"))
        connection.execute(sa.text(
            "INSERT INTO app_user (id, organisation_id, email, name, role, created_at, seal, "
            "daily_summary) VALUES (7, 1, 'a@example.org', 'A', 'chair', "
            "'2026-01-01 00:00:00', :seal, 0), (8, 1, 'b@example.org', 'B', 'chair', "
            "'2026-01-01 00:00:00', '', 0)"), {"seal": integrity.seal_over(
                "app_user", [7, 1, "a@example.org", "chair", None, None], key=key)})
        connection.execute(sa.insert(conference), [
            dict(id=1, organisation_id=1, reference="A", starts_at=when, kind="initial",
                 chair_id=7, created_at=when, seal=good),
            dict(id=2, organisation_id=1, reference="B", starts_at=when, kind="initial",
                 chair_id=8, created_at=when, seal=good)])  # moved to chair 8 by someone
    command.upgrade(config, "head")
    with engine.connect() as connection:
        seals = dict(connection.execute(sa.text("SELECT id, seal FROM conference")).all())
    assert seals[1] == integrity.seal_over("conference", [1, 1, 7, when, ""], key=key)
    with engine.connect() as connection:
        people = dict(connection.execute(sa.text("SELECT id, seal FROM app_user")).all())
    assert people[7] == integrity.seal_over(
        "app_user", [7, 1, "a@example.org", "A", "chair", None, None], key=key)
    assert people[8] == ""  # never sealed: not vouched for now
    assert seals[2] == good  # still fails: over the new fields, and over the old ones
    command.downgrade(config, "0005")
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT seal FROM conference WHERE id = 1")) == good
    engine.dispose()


def test_the_settings_and_services_already_there_are_sealed_as_they_are(tmp_path):
    """0007 seals the organisation's settings and each advocacy service as they stand, so
    what a child is shown (the out-of-hours number, the exit site, a service's name) holds
    its seal from then on."""
    import sqlalchemy as sa

    from voiceapp import crypto, integrity

    url = f"sqlite:///{tmp_path / 'settings.sqlite3'}"
    secret = "a-test-instance-secret-" * 2
    key = crypto.derive_key(secret.encode(), "instance/row-seal")
    config = alembic_config(url)
    config.attributes["secret_key"] = secret
    command.upgrade(config, "0006")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO organisation (id, name, exit_url, out_of_hours_phone, languages, "
            "retention_days_after_recorded, retention_days_after_meeting, created_at, "
            "duty_email, out_of_hours_email) VALUES (1, 'Council', 'https://example.org/', "
            "'01632 960 123', 'cy', 30, 90, '2026-01-01 00:00:00', 'duty@example.org', '')"))
        connection.execute(sa.text(
            "INSERT INTO advocacy_service (id, organisation_id, name, in_a_sentence, "
            "description, contact, translations, shared_email, active) VALUES (4, 1, 'CRO', "
            "'the CRO', '', '01632 960 000', :words, '', 1)"),
            {"words": '{"cy": {"name": "SHP", "contact": ""}}'})
    command.upgrade(config, "head")
    with engine.connect() as connection:
        organisation = connection.scalar(sa.text("SELECT seal FROM organisation"))
        service = connection.scalar(sa.text("SELECT seal FROM advocacy_service"))
    assert organisation == integrity.seal_over("organisation", [
        1, "Council", "https://example.org/", "01632 960 123", "cy", "duty@example.org", "",
        30, 90], key=key)
    assert service == integrity.seal_over("advocacy_service", [
        4, 1, "CRO", "the CRO", "", "01632 960 000", {"cy": {"contact": "", "name": "SHP"}},
        "", True], key=key)
    command.downgrade(config, "0006")
    with engine.connect() as connection:
        assert "seal" not in {c["name"] for c in inspect(connection).get_columns("organisation")}
    engine.dispose()
