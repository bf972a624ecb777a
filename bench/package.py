"""The installed artifacts of dist/ (scripts/package): how long a cold `import enrich` and
`require('enrich')` take, and how big the artifacts are. scripts/bench runs it; so can you:

    .venv/bin/python bench/package.py [--dist DIST] [--runs N] [--output bench/results/package.md]

The wheel is installed into a new venv and the npm tarball into a new npm project with fastify, in
a scratch directory under /tmp (as tests/package/check.sh does). Each figure is the median of
--runs fresh processes; each process has first imported what a FastAPI or Fastify app has already
imported before it gets to enrich (Python: asyncio and logging; Node: fastify), so the time is
enrich's own: its modules, the native extension and the shared libraries it loads (the page cache
is warm: "cold" means the first import in a process, not a cold disk). The goal is under 20 ms each.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
GOAL_MS = 20.0

PY_PROBE = (
    "import asyncio, logging, time\n"
    "t = time.perf_counter()\n"
    "import enrich\n"
    "print((time.perf_counter() - t) * 1e3)\n"
)
NODE_PROBE = (
    "require('fastify');\n"
    "const t = process.hrtime.bigint();\n"
    "require('enrich');\n"
    "console.log(Number(process.hrtime.bigint() - t) / 1e6);\n"
)


def version() -> str:
    parts = {}
    for line in (ROOT / "capi" / "enrich.h").read_text().splitlines():
        for part in ("MAJOR", "MINOR", "PATCH"):
            prefix = f"#define ENRICH_VERSION_{part} "
            if line.startswith(prefix):
                parts[part] = line[len(prefix):].strip()
    return f"{parts['MAJOR']}.{parts['MINOR']}.{parts['PATCH']}"


def run(cmd: list[str], cwd: pathlib.Path, env: dict[str, str] | None = None) -> str:
    return subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def du(*paths: pathlib.Path) -> int:
    total = 0
    for path in paths:
        for base, _, files in os.walk(path):
            total += sum(os.path.getsize(os.path.join(base, f)) for f in files)
    return total


def times(cmd: list[str], cwd: pathlib.Path, env: dict[str, str], runs: int) -> list[float]:
    run(cmd, cwd, env)  # once to warm the page cache
    return [float(run(cmd, cwd, env).strip()) for _ in range(runs)]


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dist", default=str(ROOT / "dist"))
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--output", default=str(ROOT / "bench" / "results" / "package.md"))
    args = ap.parse_args()
    dist = pathlib.Path(args.dist)
    v = version()
    wheel = next(iter(sorted(glob.glob(str(dist / f"enrich-{v}-cp*-manylinux_*.whl")))), None)
    artifacts = {
        "sdist": dist / f"enrich-{v}.tar.gz",
        "wheel": pathlib.Path(wheel) if wheel else dist / "missing.whl",
        "npm tarball": dist / f"enrich-{v}.tgz",
        "C/C++ install tree": dist / f"enrich-{v}-linux-x86_64.tar.gz",
    }
    for name, path in artifacts.items():
        if not path.is_file():
            print(f"bench/package.py: no {name} in {dist} (scripts/package makes it)", file=sys.stderr)
            return 1
    node_pkg = json.loads((ROOT / "bindings" / "node" / "package.json").read_text())
    fastify = f"fastify@{node_pkg['devDependencies']['fastify']}"

    env = {k: val for k, val in os.environ.items() if k not in ("NODE_PATH", "PYTHONPATH", "VIRTUAL_ENV")}
    env.update(npm_config_audit="false", npm_config_fund="false", npm_config_update_notifier="false")
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="enrich-bench-package."))
    try:
        base_python = getattr(sys, "_base_executable", sys.executable)
        venv = scratch / "py"
        run([base_python, "-m", "venv", str(venv)], scratch, env)
        run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index", "--no-deps",
             "--disable-pip-version-check", str(artifacts["wheel"])], scratch, env)
        site = pathlib.Path(run([str(venv / "bin" / "python"), "-c",
                                 "import sysconfig; print(sysconfig.get_paths()['purelib'])"], scratch, env).strip())
        node = scratch / "node"
        node.mkdir()
        run(["npm", "init", "-y"], node, env)
        run(["npm", "install", "--loglevel=error", fastify, str(artifacts["npm tarball"])], node, env)

        py_ms = times([str(venv / "bin" / "python"), "-c", PY_PROBE], scratch, env, args.runs)
        node_ms = times(["node", "-e", NODE_PROBE], node, env, args.runs)
        installed = {
            "wheel": du(site / "enrich", site / "enrich.libs"),
            "npm tarball": du(node / "node_modules" / "enrich"),
        }
        node_version = run(["node", "--version"], node, env).strip()
        py_version = run([str(venv / "bin" / "python"), "-c", "import sys; print(sys.version.split()[0])"], scratch, env).strip()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    def row(label: str, ms: list[float]) -> str:
        med = statistics.median(ms)
        verdict = "met" if med < GOAL_MS else "MISSED"
        return f"| {label} | {med:.1f} | {min(ms):.1f} | {max(ms):.1f} | {GOAL_MS:.0f} ({verdict}) |"

    lines = [
        f"# enrich {v}: import time and size of the installed artifacts",
        "",
        f"`bench/package.py` (scripts/bench), {platform.node()}, {os.cpu_count()} cores; Python {py_version} "
        f"(a new venv with the wheel), Node {node_version} (a new npm project with {fastify} and the tarball). "
        f"Median of {args.runs} fresh processes; each had already imported asyncio and logging (Python) or "
        "fastify (Node), as the app would have.",
        "",
        "| first import in a process | median ms | min | max | goal ms |",
        "|---|---|---|---|---|",
        row("`import enrich` (after asyncio, logging)", py_ms),
        row("`require('enrich')` (after fastify)", node_ms),
        "",
        "| artifact | file | size | installed |",
        "|---|---|---|---|",
    ]
    for name, path in artifacts.items():
        inst = mb(installed[name]) if name in installed else ""
        lines.append(f"| {name} | `{path.name}` | {mb(path.stat().st_size)} | {inst} |")
    text = "\n".join(lines) + "\n"
    print(text)
    out = pathlib.Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
