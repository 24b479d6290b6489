"""One module per ``gridmirror`` subcommand (or group); cli.py registers them.

Command modules import the heavy layers inside their functions, so that
``gridmirror --help`` stays fast.
"""
