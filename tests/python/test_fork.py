"""A client created before fork() (gunicorn --preload, multiprocessing's fork start method): in
the child every call fails at once with ClosedError saying to create the client after the fork,
closing it neither hangs nor disturbs the parent, and a client made in the child works."""

from __future__ import annotations

import asyncio
import multiprocessing
import os

import enrich
from conftest import TEST_DSN


def _child_checks(client: enrich.Client) -> int:
    """Exit status for the child: 0 when everything behaved."""
    try:
        client.fetch_value_sync("SELECT 1")
        return 1
    except enrich.ClosedError as e:
        if "create the client after the fork" not in str(e):
            return 2

    async def on_a_loop() -> int:
        try:
            await asyncio.wait_for(client.fetch_value("SELECT 1"), 5)
            return 3
        except enrich.ClosedError:
            pass
        async with enrich.Client(TEST_DSN) as fresh:
            return 0 if await fresh.fetch_value("SELECT 42") == 42 else 4

    code = asyncio.run(on_a_loop())
    client.close()  # must not hang, nor send anything on the parent's connections
    return code


def test_a_client_from_before_fork_fails_clearly_in_the_child():
    with enrich.Client(TEST_DSN, max_connections=2) as client:
        assert client.fetch_value_sync("SELECT 1") == 1  # an open connection at the fork
        pid = os.fork()
        if pid == 0:  # the child
            code = 99
            try:
                code = _child_checks(client)
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status), status
        assert os.WEXITSTATUS(status) == 0, "1-3: no fork error in the child; 4: new client failed"
        # The parent's pool is intact.
        assert [client.fetch_value_sync("SELECT $1::int", i) for i in range(4)] == [0, 1, 2, 3]


def _mp_worker(client: enrich.Client, queue: "multiprocessing.Queue[str]") -> None:
    try:
        client.fetch_value_sync("SELECT 1")
        queue.put("no error")
    except enrich.ClosedError as e:
        queue.put(type(e).__name__)


def test_multiprocessing_fork_workers_get_the_error_too():
    ctx = multiprocessing.get_context("fork")
    with enrich.Client(TEST_DSN) as client:
        client.fetch_value_sync("SELECT 1")
        queue: "multiprocessing.Queue[str]" = ctx.Queue()
        p = ctx.Process(target=_mp_worker, args=(client, queue))
        p.start()
        p.join(30)
        assert p.exitcode == 0
        assert queue.get(timeout=5) == "ClosedError"
        assert client.fetch_value_sync("SELECT 2") == 2
