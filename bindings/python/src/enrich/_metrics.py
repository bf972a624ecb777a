"""The clients' metrics as a prometheus_client collector (docs/observability.md).

    from prometheus_client import REGISTRY
    REGISTRY.register(enrich.PrometheusCollector(client))

prometheus_client is optional: it is imported when the registry first collects, not here. The
families come from the core (one list, ``Client.metrics()``); nothing is counted in Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterator, Mapping, Optional, Tuple

if TYPE_CHECKING:
    from ._client import Client


class PrometheusCollector:
    """Collects ``client.metrics()`` of each client given, with ``labels`` added to every
    sample (for example ``{"worker": str(os.getpid())}`` under several workers, so that each
    worker's series stay apart; a scrape of one worker shows that worker's). Samples of several
    clients with the same labels are added up."""

    def __init__(self, *clients: "Client", labels: Optional[Mapping[str, str]] = None) -> None:
        self._clients = clients
        self._labels = dict(labels or {})

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import Metric

        families: Dict[str, Any] = {}
        totals: Dict[Tuple[str, str, Tuple[Tuple[str, str], ...]], float] = {}
        for client in self._clients:
            if client.closed:
                continue
            for f in client.metrics():
                if f["name"] not in families:
                    # prometheus_client names a counter's family without the _total its samples
                    # carry.
                    name = f["name"]
                    if f["type"] == "counter" and name.endswith("_total"):
                        name = name[: -len("_total")]
                    families[f["name"]] = Metric(name, f["help"], f["type"])
                for s in f["samples"]:
                    merged = {**self._labels, **s["labels"]}
                    key = (f["name"], s["name"], tuple(sorted(merged.items())))
                    totals[key] = totals.get(key, 0.0) + float(s["value"])
        for (family, name, label_items), value in totals.items():
            families[family].add_sample(name, dict(label_items), value)
        yield from families.values()

    def describe(self) -> Iterator[Any]:
        return iter(())  # unknown until the first collect: do not make register() collect
