"""``gridmirror conformance``: test other IEEE 2030.5 servers (``server``) and clients
(``client``), with terminal, JUnit XML and HTML reports (conformance/)."""

from __future__ import annotations

import click


@click.group("conformance")
def conformance() -> None:
    """Conformance runs against a 2030.5 server or client, with reports for a vendor."""
