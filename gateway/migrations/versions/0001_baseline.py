"""The baseline: the schema every gridmirror database had before migrations existed.

Written out in full (not from the models), so that it stays what it was when the models
change. A database made by ``create_all`` before this revision existed holds exactly
these tables; ``gridmirror db upgrade`` stamps it with this revision and goes on.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

# gateway.models.ExactDecimal as it stores: canonical text on SQLite, NUMERIC elsewhere.
EXACT_DECIMAL = sa.String(64).with_variant(sa.Numeric(40, 9), "postgresql")

TABLE_NAMES = (
    "authority_key",
    "chain_meter",
    "chain_tx",
    "end_device",
    "epoch_clearing",
    "lease",
    "lookup_table",
    "meter_owner",
    "mirror_usage_point",
    "outbox",
    "settlement",
    "meter_reading",
    "signed_reading",
    "reading_set",
    "reading",
)
"""Every table this revision creates, in creation order (parents first)."""


def upgrade() -> None:
    op.create_table(
        "authority_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("public_key", sa.String(44), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("public_key"),
    )
    op.create_table(
        "chain_meter",
        sa.Column("lfdi", sa.String(40), nullable=False),
        sa.Column("address", sa.String(44), nullable=False),
        sa.Column("owner", sa.String(44), nullable=False),
        sa.Column("token_account", sa.String(44), nullable=False),
        sa.Column("rated_power_w", sa.BigInteger(), nullable=False),
        sa.Column("lookup_table", sa.String(44), nullable=True),
        sa.Column("owner_source", sa.String(16), nullable=False),
        sa.Column("registered_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("lfdi"),
    )
    op.create_table(
        "chain_tx",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("signature", sa.String(88), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("last_valid_block_height", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("worker", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("resolved_at", sa.Float(), nullable=True),
        sa.Column("readings", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=True),
        sa.Column("slot", sa.BigInteger(), nullable=True),
        sa.Column("batch", sa.BigInteger(), nullable=True),
        sa.Column("merkle_root", sa.String(64), nullable=True),
        sa.Column("compute_units", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("signature"),
    )
    op.create_index("ix_chain_tx_state", "chain_tx", ["state", "kind"])
    op.create_table(
        "end_device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lfdi", sa.String(40), nullable=False),
        sa.Column("sfdi", sa.BigInteger(), nullable=False),
        sa.Column("changed_time", sa.BigInteger(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=True),
        sa.Column("device_category", sa.BigInteger(), nullable=True),
        sa.Column("registered_at", sa.BigInteger(), nullable=False),
        sa.Column("pin", sa.Integer(), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("device_information", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("lfdi"),
    )
    op.create_table(
        "epoch_clearing",
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("settled", sa.Integer(), nullable=False),
        sa.Column("minted_wh", sa.BigInteger(), nullable=False),
        sa.Column("transactions", sa.Integer(), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("cleared_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("epoch"),
    )
    op.create_table(
        "lease",
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("holder", sa.String(64), nullable=True),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "lookup_table",
        sa.Column("address", sa.String(44), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("address"),
    )
    op.create_table(
        "meter_owner",
        sa.Column("lfdi", sa.String(40), nullable=False),
        sa.Column("wallet", sa.String(44), nullable=False),
        sa.Column("set_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("lfdi"),
    )
    op.create_table(
        "mirror_usage_point",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mrid", sa.String(32), nullable=False),
        sa.Column("owner_lfdi", sa.String(40), nullable=False),
        sa.Column("device_lfdi", sa.String(40), nullable=False),
        sa.Column("role_flags", sa.Integer(), nullable=False),
        sa.Column("service_category_kind", sa.Integer(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("settles", sa.Boolean(), nullable=False),
        sa.Column("post_rate", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("deleted_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_mirror_usage_point_device_lfdi", "mirror_usage_point", ["device_lfdi"])
    op.create_index("ix_mirror_usage_point_owner_lfdi", "mirror_usage_point", ["owner_lfdi"])
    op.create_index(
        "uq_mirror_live_mrid",
        "mirror_usage_point",
        ["mrid"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lfdi", sa.String(40), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("import_wh", sa.BigInteger(), nullable=False),
        sa.Column("export_wh", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("accepted_at", sa.Float(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("tx_id", sa.Integer(), nullable=True),
        sa.Column("tx_position", sa.Integer(), nullable=True),
        sa.Column("signature", sa.String(88), nullable=True),
        sa.Column("slot", sa.BigInteger(), nullable=True),
        sa.Column("batch", sa.BigInteger(), nullable=True),
        sa.Column("chain_status", sa.Integer(), nullable=True),
        sa.Column("batch_root", sa.String(64), nullable=True),
        sa.Column("leaf_index", sa.Integer(), nullable=True),
        sa.Column("proof", sa.String(), nullable=True),
        sa.Column("confirmed_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("lfdi", "timestamp", name="uq_outbox_lfdi_timestamp"),
    )
    op.create_index("ix_outbox_lfdi", "outbox", ["lfdi"])
    op.create_index(
        "ix_outbox_open_lfdi_time",
        "outbox",
        ["lfdi", "timestamp"],
        sqlite_where=sa.text("state IN ('pending', 'in_flight', 'dead')"),
        postgresql_where=sa.text("state IN ('pending', 'in_flight', 'dead')"),
    )
    op.create_index("ix_outbox_state_due", "outbox", ["state", "next_attempt_at"])
    op.create_index("ix_outbox_tx", "outbox", ["tx_id"])
    op.create_table(
        "settlement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("lfdi", sa.String(40), nullable=False),
        sa.Column("owner", sa.String(44), nullable=False),
        sa.Column("import_wh", sa.BigInteger(), nullable=False),
        sa.Column("export_wh", sa.BigInteger(), nullable=False),
        sa.Column("import_delta_wh", sa.BigInteger(), nullable=False),
        sa.Column("export_delta_wh", sa.BigInteger(), nullable=False),
        sa.Column("net_export_wh", sa.BigInteger(), nullable=False),
        sa.Column("minted_wh", sa.BigInteger(), nullable=False),
        sa.Column("signature", sa.String(88), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("epoch", "lfdi", name="uq_settlement_epoch_lfdi"),
    )
    op.create_index("ix_settlement_lfdi", "settlement", ["lfdi", "epoch"])
    op.create_table(
        "meter_reading",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mirror_id", sa.Integer(), nullable=False),
        sa.Column("mrid", sa.String(32), nullable=False),
        sa.Column("description", sa.String(32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("uom", sa.Integer(), nullable=True),
        sa.Column("kind", sa.Integer(), nullable=True),
        sa.Column("accumulation_behaviour", sa.Integer(), nullable=True),
        sa.Column("flow_direction", sa.Integer(), nullable=True),
        sa.Column("commodity", sa.Integer(), nullable=True),
        sa.Column("data_qualifier", sa.Integer(), nullable=True),
        sa.Column("phase", sa.Integer(), nullable=True),
        sa.Column("power_of_ten", sa.Integer(), nullable=False),
        sa.Column("energy_register", sa.String(8), nullable=True),
        sa.Column("reading_type_xml", sa.String(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("superseded_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["mirror_id"],
            ["mirror_usage_point.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_meter_reading_mirror", "meter_reading", ["mirror_id", "superseded_at"])
    op.create_index(
        "uq_meter_reading_current_mrid",
        "meter_reading",
        ["mrid"],
        unique=True,
        sqlite_where=sa.text("superseded_at IS NULL"),
        postgresql_where=sa.text("superseded_at IS NULL"),
    )
    op.create_table(
        "signed_reading",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lfdi", sa.String(40), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("energy_generated_kwh", EXACT_DECIMAL, nullable=False),
        sa.Column("energy_consumed_kwh", EXACT_DECIMAL, nullable=False),
        sa.Column("solar_irradiance", EXACT_DECIMAL, nullable=True),
        sa.Column("temperature", EXACT_DECIMAL, nullable=True),
        sa.Column("metadata_json", sa.String(), nullable=True),
        sa.Column("import_mwh", sa.BigInteger(), nullable=False),
        sa.Column("export_mwh", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("signature", sa.String(88), nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["authority_key.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("lfdi", "timestamp", name="uq_signed_reading_lfdi_time"),
        sa.UniqueConstraint("signature"),
    )
    op.create_table(
        "reading_set",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meter_reading_id", sa.Integer(), nullable=False),
        sa.Column("mrid", sa.String(32), nullable=False),
        sa.Column("description", sa.String(32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("duration", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meter_reading_id"],
            ["meter_reading.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("meter_reading_id", "mrid", name="uq_reading_set_mrid"),
    )
    op.create_table(
        "reading",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meter_reading_id", sa.Integer(), nullable=False),
        sa.Column("reading_set_id", sa.Integer(), nullable=True),
        sa.Column("mirror_id", sa.Integer(), nullable=False),
        sa.Column("device_lfdi", sa.String(40), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("duration", sa.BigInteger(), nullable=True),
        sa.Column("value", sa.BigInteger(), nullable=True),
        sa.Column("power_of_ten", sa.Integer(), nullable=False),
        sa.Column("scaled", EXACT_DECIMAL, nullable=True),
        sa.Column("quality_flags", sa.Integer(), nullable=True),
        sa.Column("local_id", sa.Integer(), nullable=True),
        sa.Column("tou_tier", sa.Integer(), nullable=False),
        sa.Column("consumption_block", sa.Integer(), nullable=False),
        sa.Column("energy_register", sa.String(8), nullable=True),
        sa.Column("wh", sa.BigInteger(), nullable=True),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meter_reading_id"],
            ["meter_reading.id"],
        ),
        sa.ForeignKeyConstraint(
            ["mirror_id"],
            ["mirror_usage_point.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reading_set_id"],
            ["reading_set.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "meter_reading_id", "start", "tou_tier", "consumption_block", name="uq_reading_time"
        ),
    )
    op.create_index("ix_reading_device_time", "reading", ["device_lfdi", "start"])
    op.create_index("ix_reading_mirror_id", "reading", ["mirror_id"])


def downgrade() -> None:
    for name in reversed(TABLE_NAMES):
        op.drop_table(name)
