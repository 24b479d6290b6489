"""Migration 0003 on SQLite and PostgreSQL: the operator's postRates move from the mirrors
to their registered devices, and the devices gain a codec profile."""

from __future__ import annotations

import sqlalchemy
from alembic import command

from gateway import migrations
from gateway.db import open_database

BEFORE = "0002_settlement_follows_chain"
A, B, C = "A" * 40, "B" * 40, "C" * 40  # C mirrored by B, never registered


def test_the_mirrors_post_rates_go_to_their_devices(database_url: str) -> None:
    database = open_database(database_url)
    try:
        with database.write.begin() as connection:
            command.upgrade(migrations.alembic_config(connection), BEFORE)
            for n, lfdi in enumerate((A, B), start=1):
                connection.execute(
                    sqlalchemy.text(
                        "INSERT INTO end_device (id, lfdi, sfdi, changed_time, registered_at,"
                        " pin, via) VALUES (:id, :lfdi, :id, 0, 0, 1, 'in-band')"
                    ),
                    {"id": n, "lfdi": lfdi},
                )
            mirrors = [  # (mrid, owner, device, post_rate, deleted_at)
                ("01", A, A, 30, None), ("02", A, A, 60, None), ("03", A, A, 90, 1.0),
                ("04", B, B, None, None), ("05", B, C, 45, None),
            ]  # fmt: skip
            for mrid, owner, device, rate, deleted in mirrors:
                connection.execute(
                    sqlalchemy.text(
                        "INSERT INTO mirror_usage_point (mrid, owner_lfdi, device_lfdi,"
                        " role_flags, service_category_kind, status, settles, post_rate,"
                        " created_at, updated_at, deleted_at) VALUES (:mrid, :owner,"
                        " :device, 3, 0, 1, false, :rate, 0, 0, :deleted)"
                    ),
                    {"mrid": mrid, "owner": owner, "device": device, "rate": rate,
                     "deleted": deleted},
                )  # fmt: skip
        migrations.upgrade(database.write)
        with database.read.connect() as connection:
            devices = connection.execute(
                sqlalchemy.text("SELECT lfdi, post_rate, codec_profile FROM end_device ORDER BY id")
            ).all()
            columns = {c["name"] for c in sqlalchemy.inspect(connection).get_columns(
                "mirror_usage_point")}  # fmt: skip
        # A: the largest of its live mirrors' (the deleted one's 90 does not count); B: none
        # of its own mirrors had one (45 was C's, which has no EndDevice)
        assert [tuple(d) for d in devices] == [(A, 60, None), (B, None, None)]
        assert "post_rate" not in columns
        with database.write.begin() as connection:
            command.downgrade(migrations.alembic_config(connection), BEFORE)
            back = connection.execute(
                sqlalchemy.text("SELECT mrid, post_rate FROM mirror_usage_point ORDER BY mrid")
            ).all()
        assert [tuple(r) for r in back] == [
            ("01", 60),
            ("02", 60),
            ("03", 60),
            ("04", None),
            ("05", None),
        ]
    finally:
        database.dispose()
