"""a device's own postRate and codec profile live on end_device (issue 16).

- ``end_device.post_rate``: the postRate an operator gave the device (``gridmirror gateway
  set-post-rate``); its EndDevice and every mirror of it show it (gateway/postrate.py).
  It replaces ``mirror_usage_point.post_rate``, set on existing mirrors only: each
  registered device takes the largest postRate its live mirrors had (a mirror's own
  postRate of a device that is not registered has no EndDevice to go to and is dropped;
  those mirrors show the server's postRate, or their creator's if it has one).
- ``end_device.codec_profile``: the schema the device speaks, learnt from the namespace of
  its bodies (gateway/profiles.py); NULL is 2018.

Revision ID: 0003_device_post_rate_profile
Revises: 0002_settlement_follows_chain
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_device_post_rate_profile"
down_revision = "0002_settlement_follows_chain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("end_device", sa.Column("post_rate", sa.Integer(), nullable=True))
    op.add_column("end_device", sa.Column("codec_profile", sa.String(16), nullable=True))
    op.execute(
        "UPDATE end_device SET post_rate = ("
        " SELECT MAX(m.post_rate) FROM mirror_usage_point m"
        " WHERE m.device_lfdi = end_device.lfdi AND m.deleted_at IS NULL"
        " AND m.post_rate IS NOT NULL)"
    )
    # A plain DROP COLUMN (SQLite >= 3.35 has it): a batch copy of the table would have to
    # carry its partial unique index over by reflection.
    op.drop_column("mirror_usage_point", "post_rate")


def downgrade() -> None:
    op.add_column("mirror_usage_point", sa.Column("post_rate", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE mirror_usage_point SET post_rate = ("
        " SELECT d.post_rate FROM end_device d WHERE d.lfdi = mirror_usage_point.device_lfdi)"
    )
    op.drop_column("end_device", "codec_profile")
    op.drop_column("end_device", "post_rate")
