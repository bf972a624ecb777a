#!/usr/bin/env python3
"""Per-row cost of decoding query results into Python values (bindings/python).

One statement returns --rows rows of the types an endpoint reads (int8, float8, numeric, text,
bool, timestamptz, timestamp, date, uuid, bytea, int4[], text[], timestamptz[]); it runs --repeat
times through `fetch_sync` (rows decoded into dicts) and as often through `execute_sync` (the
same rows fetched and dropped, only the command tag decoded). The difference per row is what
decoding costs; the CPU time is the calling thread's (the GIL holder's).

Usage: . scripts/env.sh && scripts/pg start && python bench/python_decode.py [--rows 5000] [--repeat 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import enrich

SQL = """
SELECT i::int8 AS id, i * 1.5::float8 AS score, (i * 1.25)::numeric(12, 2) AS amount,
       'user-' || i AS name, i % 2 = 0 AS active,
       timestamptz '2024-03-01 12:00:00+00' + i * interval '1 minute' AS created_at,
       timestamp '2024-03-01 12:00:00' + i * interval '1 second' AS seen_at,
       date '2024-01-01' + (i % 365) AS day,
       md5(i::text)::uuid AS uid, decode(md5(i::text), 'hex') AS digest,
       ARRAY[i, i + 1, i + 2]::int4[] AS ids, ARRAY['a', 'b c', NULL] AS tags,
       ARRAY[timestamptz '2024-03-01 12:00:00.123456+00'] AS stamps
FROM generate_series(1, $1) AS i
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", default=os.environ.get("ENRICH_TEST_DSN") or os.environ.get("DATABASE_URL"))
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=40)
    args = ap.parse_args()
    with enrich.Client(args.dsn, max_connections=1) as client:
        client.fetch_sync(SQL, args.rows)  # warm: prepared statement, caches
        client.execute_sync(SQL, args.rows)

        def per_row(fn: str) -> float:
            samples = []
            for _ in range(args.repeat):
                t0 = time.thread_time()
                getattr(client, fn)(SQL, args.rows)
                samples.append((time.thread_time() - t0) / args.rows * 1e6)
            return statistics.median(samples)

        fetch = per_row("fetch_sync")
        execute = per_row("execute_sync")
    print(f"rows per statement: {args.rows}, repeats: {args.repeat} (medians, calling thread's CPU)")
    print(f"fetch_sync  : {fetch:7.3f} us/row")
    print(f"execute_sync: {execute:7.3f} us/row")
    print(f"decode      : {fetch - execute:7.3f} us/row (13 columns)")


if __name__ == "__main__":
    main()
