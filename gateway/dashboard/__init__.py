"""The live dashboard: a page at /dashboard on the API listener.

- :mod:`gateway.dashboard.rows`: the queries (what the database holds now);
- :mod:`gateway.dashboard.snapshot`: a pure function from those rows (and the bridge's
  stats) to the typed snapshot the page draws;
- :mod:`gateway.dashboard.routes`: /dashboard (the page), /dashboard/state.json (one
  snapshot), /dashboard/events (server-sent events, a snapshot every ``interval``
  seconds) and /dashboard/static (the page's script and style, no third-party code).

Read-only and unauthenticated: it shows meter names, registers and on-chain figures to
whoever reaches the API listener, which binds 127.0.0.1 by default (docs/dashboard.md).
"""
