"""One bridge per event loop (see bindings/python/src/native/bridge.cpp for the native half).

A bridge owns a completion queue. Its fd is registered with ``loop.add_reader`` so that the loop
drains completions in batches on its own thread; the core's I/O thread never takes the GIL.
Bridges are created lazily, the first time a loop starts an operation, and live as long as
their loop (the loop holds the reader callback, the bridge is stored on the loop). A bridge whose
loop was closed is closed at the next opportunity (another loop's first operation,
``Client.stats()``, or the loop's garbage collection): its queue is destroyed, so completions
that still arrive for it are discarded by the core and transactions they carry roll back.

Operations outside transactions are started in batches, once per turn of the loop
(:func:`start_soon`): every start hands work to the core's I/O thread, and the first one after
that thread went idle writes its eventfd to wake it (a system call, and on a VM an interprocessor
interrupt). A loop turn that starts the runs of many requests wakes it once instead of once per
request (bench/fastapi_asgi.py's route mode: about 11% of the loop thread's CPU per request).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any, Callable, Dict, List, Tuple

from . import _native

__all__ = ["bridge_for", "start_soon", "sweep"]

_ATTR = "_enrich_bridge"
_STARTS_ATTR = "_enrich_starts"
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


class _Starts:
    """The operations a loop queued in this turn, started together at the start of the next."""

    __slots__ = ("bridge", "items")

    def __init__(self, bridge: Any) -> None:
        self.bridge = bridge  # not the loop, which holds this object: no reference cycle
        self.items: List[Tuple[Callable[[Any, Any], int], Any, List[int]]] = []

    def add(self, loop: asyncio.AbstractEventLoop, start: Callable[[Any, Any], int], fut: Any,
            op: List[int]) -> None:
        if not self.items:
            loop.call_soon(self.flush)
        self.items.append((start, fut, op))

    def flush(self) -> None:
        items, self.items = self.items, []
        bridge = self.bridge
        for start, fut, op in items:
            if fut.done():
                continue  # cancelled before it started: nothing to start, nothing to cancel
            try:
                op.append(start(bridge, fut))
            except Exception as e:  # refused at once (bad inputs, a closed client): the await raises
                if not fut.done():
                    fut.set_exception(e)


def start_soon(loop: asyncio.AbstractEventLoop, start: Callable[[Any, Any], int], fut: Any) -> List[int]:
    """Queues ``start(bridge, fut)`` (which starts a native operation resolving ``fut`` and returns
    its op id) to run at the next turn of ``loop``, with the others queued in this turn. Returns a
    list that holds the op id once it started (for a cancel); ``fut`` is left alone if it is done
    by then. For operations whose order does not matter: never a transaction's."""
    starts = getattr(loop, _STARTS_ATTR, None)
    if starts is None:
        starts = _Starts(bridge_for(loop))
        try:
            setattr(loop, _STARTS_ATTR, starts)
        except AttributeError:
            pass  # a loop that refuses attributes: a new batch object per call, still correct
    op: List[int] = []
    starts.add(loop, start, fut, op)
    return op


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
