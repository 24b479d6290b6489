"""Queries of the gateway's tables, one module per kind of thing; no HTTP, no 2030.5 XML."""
