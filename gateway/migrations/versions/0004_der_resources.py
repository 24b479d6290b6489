"""the DER function sets: what a device PUT for each of its DERs (issue 19).

``der_resource`` keeps, per EndDevice, DER and part (``dercap``, ``derg``, ``ders``,
``dera``: the path segment of DERCapability, DERSettings, DERStatus, DERAvailability),
the document the device PUT. No foreign key to ``end_device``: unregistering deletes
the device's rows in the same transaction (gateway.registration), and SQLite would not
enforce one without a pragma anyway.

Revision ID: 0004_der_resources
Revises: 0003_device_post_rate_profile
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_der_resources"
down_revision = "0003_device_post_rate_profile"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "der_resource",
        sa.Column("end_device_id", sa.Integer(), nullable=False),
        sa.Column("der_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.String(8), nullable=False),
        sa.Column("xml", sa.String(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("end_device_id", "der_id", "part"),
    )


def downgrade() -> None:
    op.drop_table("der_resource")
