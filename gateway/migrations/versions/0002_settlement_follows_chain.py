"""settlement follows the chain: rows from the Meter accounts, the mint cap's withheld Wh.

Settlements someone else cranked are recorded from the Meter accounts (oracle/settled.py):
such rows have no signature or slot, say where they came from (``source``) and how many
on-chain settlements they stand for (``settlements``); every row carries the Wh the
program's mint cap withheld (``withheld_wh``). Existing rows came from the worker's own
events: source ``event``, one settlement each, nothing withheld.

Revision ID: 0002_settlement_follows_chain
Revises: 0001_baseline
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_settlement_follows_chain"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the server defaults fill the existing rows, then go: the models set the values
    with op.batch_alter_table("settlement") as batch:
        batch.add_column(
            sa.Column("withheld_wh", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("settlements", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("source", sa.String(16), nullable=False, server_default="event"))
        batch.alter_column("signature", existing_type=sa.String(88), nullable=True)
        batch.alter_column("slot", existing_type=sa.BigInteger(), nullable=True)
    with op.batch_alter_table("settlement") as batch:
        batch.alter_column("withheld_wh", server_default=None)
        batch.alter_column("settlements", server_default=None)
        batch.alter_column("source", server_default=None)


def downgrade() -> None:
    op.execute("DELETE FROM settlement WHERE signature IS NULL")
    with op.batch_alter_table("settlement") as batch:
        batch.alter_column("slot", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("signature", existing_type=sa.String(88), nullable=False)
        batch.drop_column("source")
        batch.drop_column("settlements")
        batch.drop_column("withheld_wh")
