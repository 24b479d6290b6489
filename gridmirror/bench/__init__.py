"""Benchmarks: each module measures one target of ARCHITECTURE.md and prints its figures.

They are run by ``gridmirror bench <name>``; figures are recorded, dated, in
docs/BENCHMARKS.md. Nothing here asserts a speed: tests only check that a benchmark runs.
"""
