"""Conformance runs: gridmirror tests other IEEE 2030.5 servers and clients.

model holds the data both sides produce (procedures, steps, verdicts, reports), report
writes it out (terminal, JUnit XML, HTML). This package stands beside gateway: it may use
sep2, certs, devices and schemas, never gateway; only the CLI imports it.
"""
