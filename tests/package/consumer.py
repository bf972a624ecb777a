"""The installed wheel, from a fresh venv outside the repository (tests/package/check.sh):

    python consumer.py PLAN_FILE VERSION

Checks the version everywhere, that py.typed and the stub ship, runs a query and the reference
plan against ENRICH_FIXTURE_DSN, and that libpq and libcurl were loaded from the wheel's own
enrich.libs (auditwheel's copies), not from the system."""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import pathlib
import sys

import enrich

plan_file, version = sys.argv[1], sys.argv[2]
dsn = os.environ["ENRICH_FIXTURE_DSN"]  # KeyError: fail, never skip

assert enrich.__version__ == version, (enrich.__version__, version)
assert importlib.metadata.version("enrich") == version
package = pathlib.Path(enrich.__file__).parent
assert (package / "py.typed").is_file() and (package / "_native.pyi").is_file(), sorted(package.iterdir())
assert "site-packages" in str(package), package  # the installed copy, not the repository's


async def main() -> None:
    async with enrich.Client(dsn, max_connections=2) as client:
        assert await client.fetch_value("SELECT $1::int8 * 2", 21) == 42
        plan = enrich.Plan.load(plan_file)
        doc = json.loads(await client.run_json(plan, {"user_id": 1}))
        assert doc["user"]["id"] == 1, doc
        assert isinstance(doc["recent_activity"], list), doc
        print(f"python: query ok, plan {plan_file.rsplit('/', 1)[-1]} ok: user {doc['user']['id']}")


asyncio.run(main())

mapped = {line.split()[-1] for line in pathlib.Path("/proc/self/maps").read_text().splitlines() if ".so" in line}
for lib in ("libpq", "libcurl"):
    mine = sorted(p for p in mapped if os.path.basename(p).startswith(lib + "-"))
    system = sorted(p for p in mapped if os.path.basename(p).startswith(lib + ".so"))
    assert mine and all("/enrich.libs/" in p for p in mine) and not system, (lib, mine, system)
    print(f"python: {lib} from {mine[0]}")
print(f"python: enrich {enrich.__version__} from {package}")
