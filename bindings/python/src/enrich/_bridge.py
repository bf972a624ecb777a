"""One bridge per event loop (see bindings/python/src/native/bridge.cpp for the native half).

A bridge owns a completion queue. Its fd is registered with ``loop.add_reader`` so that the loop
drains completions in batches on its own thread; the core's I/O thread never takes the GIL.
Bridges are created lazily, the first time a loop starts an operation, and live as long as
their loop (the loop holds the reader callback, the bridge is stored on the loop). A bridge whose
loop was closed is closed at the next opportunity (another loop's first operation,
``Client.stats()``, or the loop's garbage collection): its queue is destroyed, so completions
that still arrive for it are discarded by the core and transactions they carry roll back.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any, Dict, List, Tuple

from . import _native

__all__ = ["bridge_for", "sweep"]

_ATTR = "_enrich_bridge"
_lock = threading.Lock()
# (weakref to loop, weakref to bridge) of every bridge, for sweep().
_registry: List[Tuple["weakref.ref[Any]", "weakref.ref[Any]"]] = []
# Loops that refuse attributes (none of asyncio's or uvloop's do).
_fallback: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()


def bridge_for(loop: asyncio.AbstractEventLoop) -> Any:
    """The bridge of ``loop`` (the running loop of the calling coroutine)."""
    bridge = getattr(loop, _ATTR, None)
    if bridge is not None:
        return bridge
    bridge = _fallback.get(loop)
    if bridge is not None:
        return bridge
    return _create(loop)


def _create(loop: asyncio.AbstractEventLoop) -> Any:
    sweep()
    bridge = _native.Bridge()
    loop.add_reader(bridge.fd, bridge.drain)
    try:
        setattr(loop, _ATTR, bridge)
    except AttributeError:
        _fallback[loop] = bridge
    with _lock:
        _registry.append((weakref.ref(loop), weakref.ref(bridge)))
    return bridge


def sweep() -> None:
    """Closes the bridges whose loop is closed or gone."""
    with _lock:
        keep = []
        dead = []
        for loop_ref, bridge_ref in _registry:
            loop = loop_ref()
            bridge = bridge_ref()
            if bridge is None:
                continue
            if loop is None or loop.is_closed():
                dead.append(bridge)
            else:
                keep.append((loop_ref, bridge_ref))
        _registry[:] = keep
    for bridge in dead:
        bridge.close()


def all_stats() -> List[Dict[str, Any]]:
    """Counters of the live bridges (for benchmarks and tests)."""
    with _lock:
        bridges = [b() for _, b in _registry]
    return [b.stats() for b in bridges if b is not None]
