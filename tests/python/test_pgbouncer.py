"""Through PgBouncer in transaction mode (scripts/pgbouncer: Debian's 1.18, 4 server connections).

The issue's reproduction, as a user ran it: 10,000 concurrent ``fetch_value`` calls from Python
over four statements of the same shape. Before statement names were derived from the statement,
57% of the calls returned another statement's result and 2% failed with 42P05. Needs
ENRICH_PGBOUNCER_DSN (scripts/test starts PgBouncer); fails, never skips, without it.
"""

from __future__ import annotations

import asyncio
import os

import pytest

import enrich

from conftest import run

CALLS = 10_000


def bouncer_fixture_dsn(suffix: str = "") -> str:
    dsn = os.environ.get("ENRICH_PGBOUNCER_DSN")
    if not dsn:
        pytest.fail("ENRICH_PGBOUNCER_DSN is not set (scripts/test starts scripts/pgbouncer)")
    return dsn.rsplit("/", 1)[0] + "/enrich_fixture" + suffix


@pytest.mark.parametrize("suffix", ["", "?statement_cache=off", "?statement_cache=on"])
def test_concurrent_statements_of_one_shape_get_their_own_rows(suffix: str) -> None:
    async def main() -> None:
        async with enrich.Client(bouncer_fixture_dsn(suffix)) as client:

            async def one(i: int) -> int | str:
                k, user_id = i % 4, 1 + (i * 7919) % 2000
                try:
                    got = await client.fetch_value(f"SELECT id + {k} AS id FROM users WHERE id = $1", user_id)
                except enrich.Error as e:
                    return f"{type(e).__name__}: {e}"
                return 0 if got == user_id + k else 1

            outcomes = await asyncio.gather(*(one(i) for i in range(CALLS)))
        wrong = sum(1 for o in outcomes if o == 1)
        errors = [o for o in outcomes if isinstance(o, str)]
        assert wrong == 0, f"{wrong} of {CALLS} calls got another statement's result"
        assert not errors, f"{len(errors)} of {CALLS} calls failed, first: {errors[0]}"

    run(main)


def test_time_zone_of_the_database_is_not_utc_and_does_not_show() -> None:
    """The fixture database's TimeZone is Asia/Kolkata; timestamptz still decodes to the instant."""

    async def main() -> None:
        async with enrich.Client(bouncer_fixture_dsn()) as client:
            assert await client.fetch_value("SHOW TimeZone") == "Asia/Kolkata"
            got = await client.fetch_value("SELECT '2024-03-05 06:07:08.5+00'::timestamptz")
            assert got.isoformat() == "2024-03-05T06:07:08.500000+00:00"
            # Written as year 10000 in +05:30; asyncpg gives the 9999 instant.
            far = await client.fetch_value("SELECT '9999-12-31 20:00:00+00'::timestamptz")
            assert far.isoformat() == "9999-12-31T20:00:00+00:00"

    run(main)
