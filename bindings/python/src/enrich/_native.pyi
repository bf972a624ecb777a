"""Type stubs of the native extension (bindings/python/src/native). Internal: use `enrich`."""

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

KIND_ROWS: int
KIND_ONE: int
KIND_VALUE: int
KIND_EXECUTE: int

def version() -> int: ...
def version_string() -> str: ...
def status_name(status: int) -> str: ...
def sql_operation_name(sql: str) -> str: ...
def set_hooks(
    error_factory: Callable[[int, str, str, str, str, str, bool, Tuple[str, ...]], BaseException],
    slow_decode: Callable[[int, str], Any],
    slow_encode: Callable[[Any], Optional[str]],
) -> None: ...

class NativeClient:
    @property
    def closed(self) -> bool: ...
    def close(self) -> None: ...
    def cancel(self, op_id: int) -> bool: ...
    def stats(self) -> str: ...
    def options(self) -> str: ...
    def metrics(self) -> str: ...

def create_client(config_json: str, queue_logs: bool = True) -> NativeClient: ...
def options_schema() -> str: ...

class NativePlan:
    @property
    def name(self) -> str: ...

def plan_load(path: str, variables_json: Optional[str]) -> NativePlan: ...
def plan_from_json(json: str, variables_json: Optional[str]) -> NativePlan: ...

class NativeTx:
    def free(self) -> None: ...

def log_fd() -> int: ...
def log_poll(max: int = 256) -> List[Tuple[int, str, str]]: ...
def bench_native(client: NativeClient, sql: str, n: int, window: int) -> float: ...

HttpTuple = Tuple[int, List[Tuple[str, str]], bytes, float]

class Bridge:
    def __init__(self) -> None: ...
    @property
    def fd(self) -> int: ...
    @property
    def closed(self) -> bool: ...
    @property
    def pending(self) -> int: ...
    def drain(self) -> None: ...
    def close(self) -> None: ...
    def stats(self) -> Dict[str, int]: ...
    def query(
        self,
        client: NativeClient,
        fut: Any,
        sql: str,
        args: Sequence[Any],
        kind: int,
        timeout_ms: int,
        use_primary: bool,
        coalesce: bool,
        batch: str,
    ) -> int: ...
    def tx_query(
        self,
        client: NativeClient,
        tx: NativeTx,
        fut: Any,
        sql: str,
        args: Sequence[Any],
        kind: int,
        timeout_ms: int,
    ) -> int: ...
    def tx(self, client: NativeClient, tx: Optional[NativeTx], fut: Any, what: int, timeout_ms: int) -> int: ...
    def http(
        self,
        client: NativeClient,
        fut: Any,
        method: str,
        url: str,
        headers: Optional[List[Tuple[str, str]]],
        body: Optional[bytes],
        timeout_ms: int,
        retry: bool,
    ) -> int: ...
    def plan(
        self,
        client: NativeClient,
        plan: NativePlan,
        fut: Any,
        inputs_json: str,
        profile: int,
        deadline_ms: int,
        use_primary: bool,
        timings: bool,
        trace: Optional[Tuple[str, str]],
    ) -> int: ...

def sync_query(
    client: NativeClient,
    tx: Optional[NativeTx],
    sql: str,
    args: Sequence[Any],
    kind: int,
    timeout_ms: int,
    use_primary: bool,
    coalesce: bool,
    batch: str,
) -> Any: ...
def sync_tx(client: NativeClient, tx: Optional[NativeTx], what: int, timeout_ms: int) -> Any: ...
def sync_http(
    client: NativeClient,
    method: str,
    url: str,
    headers: Optional[List[Tuple[str, str]]],
    body: Optional[bytes],
    timeout_ms: int,
    retry: bool,
) -> HttpTuple: ...
def sync_plan(
    client: NativeClient,
    plan: NativePlan,
    inputs_json: str,
    profile: int,
    deadline_ms: int,
    use_primary: bool,
    timings: bool,
    trace: Optional[Tuple[str, str]],
) -> Any: ...
