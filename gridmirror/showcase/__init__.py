"""``gridmirror demo``: the whole system in one process, and a live view of it.

- :mod:`gridmirror.showcase.prepare`: the PKI, the database and the embedded chain made
  ready (created the first time, reused afterwards);
- :mod:`gridmirror.showcase.ledger`: what the database says (outbox, settlements);
- :mod:`gridmirror.showcase.snapshot`: one moment of the demo as plain data, a pure
  function of the fleet's counters and the ledger;
- :mod:`gridmirror.showcase.view`: a snapshot drawn (rich) or told in one line;
- :mod:`gridmirror.showcase.run`: gateway, bridge and meters started, shown and stopped.
"""
