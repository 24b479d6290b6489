"""gridmirror.bench.roles: how a failed load is reported."""

from __future__ import annotations

from gridmirror.bench.roles import first_error


def test_the_exception_is_named_not_the_warnings_after_it() -> None:
    stderr = (
        "Traceback (most recent call last):\n"
        '  File "x.py", line 1, in <module>\n'
        "aiohttp.client_exceptions.ServerDisconnectedError: Server disconnected\n"
        "Unclosed client session\n"
        "client_session: <aiohttp.client.ClientSession object at 0x7f>\n"
    )
    assert first_error(stderr) == (
        "aiohttp.client_exceptions.ServerDisconnectedError: Server disconnected"
    )


def test_without_an_exception_line_the_tail_is_kept() -> None:
    assert first_error("x" * 600 + "\nthe end\n").endswith("the end")
    assert len(first_error("y" * 2000)) == 500
