"""Decoding of the rarer Postgres types (the common ones are decoded natively), and the HTTP
response type."""

from __future__ import annotations

import datetime as _dt
import json as _json
import re
from typing import Any, Dict, List, Optional, Tuple

__all__ = ["HttpResponse", "decode_text"]


# OIDs handled here; everything else is decoded natively (bindings/python/src/native/decode.cpp,
# on the core's type table and text decoder).
_INTERVAL = 1186
_INET = 869
_CIDR = 650

_INTERVAL_PART = re.compile(r"([+-]?\d+) (year|mon|day)s?")
_INTERVAL_TIME = re.compile(r"([+-])?(\d+):(\d\d):(\d\d)(?:\.(\d{1,6}))?")


def _micro(frac: Optional[str]) -> int:
    return int((frac or "").ljust(6, "0")) if frac else 0


def _interval(text: str) -> Any:
    """Postgres IntervalStyle 'postgres' text to timedelta, as asyncpg does: a month is 30 days,
    a year 365 days."""
    months = days = 0
    for number, unit in _INTERVAL_PART.findall(text):
        n = int(number)
        if unit == "year":
            months += 12 * n
        elif unit == "mon":
            months += n
        else:
            days += n
    micro = 0
    t = _INTERVAL_TIME.search(text)
    if t:
        sign, h, mi, s, frac = t.groups()
        micro = ((int(h) * 60 + int(mi)) * 60 + int(s)) * 1_000_000 + _micro(frac)
        if sign == "-":
            micro = -micro
    elif not _INTERVAL_PART.search(text):
        return text
    if months < 0:
        years, months = -(-months // 12), -(-months % 12)
    else:
        years, months = months // 12, months % 12
    return _dt.timedelta(days=days + months * 30 + years * 365, microseconds=micro)


def decode_text(oid: int, text: str) -> Any:
    """Called by the native decoder for the types it leaves to Python."""
    try:
        if oid == _INTERVAL:
            return _interval(text)
        if oid in (_INET, _CIDR):
            import ipaddress  # on first use: `import enrich` stays quick (bench/package.py)

            if oid == _CIDR:
                return ipaddress.ip_network(text)
            return ipaddress.ip_interface(text) if "/" in text else ipaddress.ip_address(text)
    except ValueError:
        return text
    return text


class HttpResponse:
    """The response of :meth:`Client.http_get` / :meth:`Client.http_request`.

    Any status code is a response (check :attr:`is_success` or call :meth:`raise_for_status`);
    transport failures raise :class:`enrich.HttpError` and friends instead.
    """

    __slots__ = ("status_code", "raw_headers", "content", "elapsed_ms", "_headers")

    def __init__(
        self, status_code: int, raw_headers: List[Tuple[str, str]], content: bytes, elapsed_ms: float
    ) -> None:
        self.status_code = status_code
        self.raw_headers = raw_headers
        self.content = content
        self.elapsed_ms = elapsed_ms
        self._headers: Optional[Dict[str, str]] = None

    @property
    def status(self) -> int:
        return self.status_code

    @property
    def headers(self) -> Dict[str, str]:
        """Headers by lower-case name; repeated headers are joined with ", "."""
        if self._headers is None:
            h: Dict[str, str] = {}
            for name, value in self.raw_headers:
                key = name.lower()
                h[key] = f"{h[key]}, {value}" if key in h else value
            self._headers = h
        return self._headers

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return _json.loads(self.content)

    def raise_for_status(self) -> "HttpResponse":
        if not self.is_success:
            from ._errors import HttpError

            raise HttpError(f"HTTP status {self.status_code}")
        return self

    def __repr__(self) -> str:
        return f"<HttpResponse [{self.status_code}] {len(self.content)} bytes>"
