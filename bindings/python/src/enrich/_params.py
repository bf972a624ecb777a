"""Query parameters the native encoder leaves to Python, in Postgres text format.

Parameters are sent as text and typed by the server from the statement (like psql's
``PREPARE``), so ``$1`` in ``WHERE id = $1`` takes the column's type. The native encoder handles
None, bool, int, float, str, bytes, bytearray and memoryview; this module handles the rest.
"""

from __future__ import annotations

import datetime as _dt
import enum
import json
import sys
from typing import Any, Optional

__all__ = ["encode", "json_default"]

# decimal, uuid and ipaddress are not imported by `import enrich` (bench/package.py measures its
# cold import): a value of their types can only exist once the caller imported them.


def _is_decimal(value: Any) -> bool:
    decimal = sys.modules.get("decimal")
    return decimal is not None and isinstance(value, decimal.Decimal)


def _is_uuid(value: Any) -> bool:
    uuid = sys.modules.get("uuid")
    return uuid is not None and isinstance(value, uuid.UUID)


def _is_ip(value: Any) -> bool:
    ipaddress = sys.modules.get("ipaddress")
    return ipaddress is not None and isinstance(
        value,
        (
            ipaddress.IPv4Address,
            ipaddress.IPv6Address,
            ipaddress.IPv4Network,
            ipaddress.IPv6Network,
            ipaddress.IPv4Interface,
            ipaddress.IPv6Interface,
        ),
    )


def _interval(td: _dt.timedelta) -> str:
    return f"{td.days} days {td.seconds} seconds {td.microseconds} microseconds"


def _scalar(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return _scalar(value.value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(float(value))
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\x" + bytes(value).hex()
    if _is_decimal(value):
        if value.is_snan():
            raise ValueError("signalling NaN cannot be sent")
        if value.is_nan():
            return "NaN"
        if value.is_infinite():
            return "Infinity" if value > 0 else "-Infinity"
        return str(value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return _interval(value)
    if _is_uuid(value):
        return str(value)
    if _is_ip(value):
        return str(value)
    if isinstance(value, (list, tuple)):
        return _array(value)
    if isinstance(value, dict):
        return json.dumps(value, default=json_default, separators=(",", ":"))
    raise TypeError(f"cannot send a value of type {type(value).__name__} as a query parameter")


def _array_item(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (list, tuple)):
        return _array(value)
    text = _scalar(value)
    assert text is not None
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _array(values: Any) -> str:
    """A Postgres array literal; nested sequences become multi-dimensional arrays."""
    return "{" + ",".join(_array_item(v) for v in values) + "}"


def encode(value: Any) -> Optional[str]:
    """Text form of one parameter (None for SQL NULL); TypeError/ValueError if not encodable."""
    return _scalar(value)


def json_default(value: Any) -> Any:
    """``json.dumps`` default for plan inputs and json parameters."""
    if _is_decimal(value):
        return str(value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if _is_uuid(value):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8")
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
