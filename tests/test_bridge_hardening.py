"""Issue 16: no request, connection or stream can take the household offline.

Everything here is tried on the real bridge process, as the outside probe did: bodies
without the token, bodies too large, odd values that used to end in a 500, the API's
edges (docs, redirects, HEAD, the bearer scheme's case), file modes, and a flood of
connections that never finish their request under a small open-file limit.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import select
import socket
import stat
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from kraken_core.bridge.server import HEADER_TIMEOUT_S, CollapseRepeats
from kraken_core.bridge.session import MAX_SESSIONS, Sessions
from kraken_core.store.db import Store
from tests.helpers.bridge_process import SCENARIOS, RunningBridge, running_bridge

SCENARIO = str(SCENARIOS / "iog_evening_smart_dispatch.json")
CAR = "smart_energy_device.dev-1"
MB = 1024 * 1024


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBridge]:
    data_dir = tmp_path_factory.mktemp("hardening")
    with running_bridge("--demo", "--scenario", SCENARIO, data_dir=data_dir) as running:
        yield running


# --- raw HTTP, for what httpx will not send ----------------------------------------------


def rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1])


class PeakRss:
    """The process's largest resident set while the block runs, sampled every 10 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.before_kb = rss_kb(pid)
        self.peak_kb = self.before_kb
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(0.01):
            self.peak_kb = max(self.peak_kb, rss_kb(self.pid))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak_kb = max(self.peak_kb, rss_kb(self.pid))

    @property
    def growth_mb(self) -> float:
        return (self.peak_kb - self.before_kb) / 1024


def raw_request(url: str, head: str, body: Iterable[bytes] = ()) -> tuple[int, bytes]:
    """Send ``head`` and every piece of ``body`` (as long as the bridge takes them), then
    the status and the bytes of the answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=30) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n")
        try:
            for piece in body:
                sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the bridge may close on a body it will not read; its answer came first
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer) < answer.index(b"\r\n\r\n") + 4:
            ready, _, _ = select.select([sock], [], [], 30)
            chunk = sock.recv(65536) if ready else b""
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer


def zeros(total: int, piece: int = MB) -> Iterator[bytes]:
    block = b"0" * piece
    for _ in range(total // piece):
        yield block


def chunked(total: int, piece: int = MB) -> Iterator[bytes]:
    for block in zeros(total, piece):
        yield f"{len(block):x}\r\n".encode() + block + b"\r\n"
    yield b"0\r\n\r\n"


# --- bodies: refused before they are read, and never beyond 64 KB ------------------------


def test_a_huge_body_without_the_token_is_refused_unread(bridge: RunningBridge) -> None:
    head = (
        "PUT /api/v1/settings HTTP/1.1\nHost: bridge\nContent-Type: application/json\n"
        f"Content-Length: {300 * MB}\n"
    )
    with PeakRss(bridge.process.pid) as rss:
        status, answer = raw_request(bridge.url, head, zeros(300 * MB))
    assert status == 401, answer
    assert b"token" in answer
    assert rss.growth_mb < 10, f"RSS grew {rss.growth_mb:.1f} MB"
    print(f"300 MB without a token: RSS {rss.before_kb // 1024} MB, +{rss.growth_mb:.1f} MB")

    boost = f"POST /api/v1/devices/{CAR}/actions/boost HTTP/1.1\nHost: bridge\n"
    boost += "Transfer-Encoding: chunked\n"
    with PeakRss(bridge.process.pid) as rss:
        status, _ = raw_request(bridge.url, boost, chunked(100 * MB))
    assert status == 401
    assert rss.growth_mb < 10, f"RSS grew {rss.growth_mb:.1f} MB"


def test_a_body_over_64_kb_is_413_with_the_token_however_it_is_framed(
    bridge: RunningBridge,
) -> None:
    auth = f"Authorization: Bearer {bridge.token}\n"
    settings = "PUT /api/v1/settings HTTP/1.1\nHost: bridge\nContent-Type: application/json\n"
    declared = settings + auth + f"Content-Length: {MB}\n"
    assert raw_request(bridge.url, declared, zeros(MB, 64 * 1024))[0] == 413
    # No Content-Length: counted as it arrives.
    streamed = settings + auth + "Transfer-Encoding: chunked\n"
    with PeakRss(bridge.process.pid) as rss:
        assert raw_request(bridge.url, streamed, chunked(MB, 8 * 1024))[0] == 413
    assert rss.growth_mb < 10
    action = f"{bridge.url}/api/v1/devices/{CAR}/actions/boost"
    padded = {"pad": "x" * (65 * 1024)}
    assert httpx.post(action, headers=bridge.headers, json=padded).status_code == 413
    small = httpx.put(f"{bridge.url}/api/v1/settings", headers=bridge.headers, json={})
    assert small.status_code == 200


def test_malformed_json_without_the_token_is_401_not_422(bridge: RunningBridge) -> None:
    url = f"{bridge.url}/api/v1/settings"
    typed = {"Content-Type": "application/json"}
    assert httpx.put(url, content=b"{not json", headers=typed).status_code == 401
    with_token = {**typed, **bridge.headers}
    assert httpx.put(url, content=b"{not json", headers=with_token).status_code == 422


# --- values that used to end in a 500 -----------------------------------------------------


def read_event_kinds(response: httpx.Response, count: int) -> list[str]:
    kinds: list[str] = []
    for line in response.iter_lines():
        if line.startswith("event: "):
            kinds.append(line.removeprefix("event: "))
            if len(kinds) == count:
                break
    return kinds


@pytest.mark.parametrize(
    "last_event_id",
    ["²".encode(), "1³".encode(), b"9" * 5000, b"-1", b"0x10", b"12 34"],
    ids=["superscript", "digit-superscript", "5000-digits", "negative", "hex", "two"],
)
def test_a_last_event_id_that_is_no_id_of_ours_gets_a_resync(
    bridge: RunningBridge, last_event_id: bytes
) -> None:
    headers = {b"Authorization": f"Bearer {bridge.token}".encode(), b"Last-Event-ID": last_event_id}
    url = f"{bridge.url}/api/v1/events"
    with httpx.stream("GET", url, headers=headers, timeout=20) as stream:
        assert stream.status_code == 200
        kinds = read_event_kinds(stream, 3)
    assert kinds[0] == "resync"
    assert "state" in kinds[1:]


@pytest.mark.parametrize(
    ("from_", "to"),
    [
        ("0001-01-01T00:00:00+14:00", "2026-03-10"),
        ("2026-03-01", "9999-12-31T23:59:59-14:00"),
        ("1999-12-31T23:00:00Z", "2026-03-10"),
    ],
)
def test_history_bounds_out_of_range_are_400(bridge: RunningBridge, from_: str, to: str) -> None:
    answer = httpx.get(
        f"{bridge.url}/api/v1/history.csv",
        params={"from": from_, "to": to},
        headers=bridge.headers,
    )
    assert answer.status_code == 400, answer.text
    assert "2000" in answer.json()["detail"]


@pytest.mark.parametrize("ready_by", ["05:00+05:00", "05:00Z", 18000, "05:00:00.5", None])
def test_a_charge_target_time_with_a_zone_or_a_number_is_4xx(
    bridge: RunningBridge, ready_by: object
) -> None:
    answer = httpx.post(
        f"{bridge.url}/api/v1/devices/{CAR}/actions/set_charge_target",
        headers=bridge.headers,
        json={"target_percent": 80, "ready_by": ready_by},
        timeout=20,
    )
    assert 400 <= answer.status_code < 500, answer.text
    assert "ready" in answer.json()["detail"].lower()


# --- the API's edges ------------------------------------------------------------------------


def test_no_api_docs_and_the_openapi_document_needs_the_token(bridge: RunningBridge) -> None:
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert httpx.get(f"{bridge.url}{path}").status_code == 401
        assert httpx.get(f"{bridge.url}{path}", headers=bridge.headers).status_code == 404
    assert httpx.get(f"{bridge.url}/openapi.json").status_code == 401
    spec = httpx.get(f"{bridge.url}/openapi.json", headers=bridge.headers).json()
    assert "/api/v1/devices" in spec["paths"]


def test_no_redirect_is_built_from_the_host_header(bridge: RunningBridge) -> None:
    evil = {"Host": "evil.example"}
    for headers in (evil, {**evil, **bridge.headers}):
        for path in ("/api/v1/devices/", "/api/v1/health/", "/static"):
            answer = httpx.get(f"{bridge.url}{path}", headers=headers)
            assert answer.status_code in (401, 404), (path, answer.status_code)
            assert "location" not in answer.headers


def test_the_bearer_scheme_is_case_insensitive(bridge: RunningBridge) -> None:
    url = f"{bridge.url}/api/v1/devices"
    for scheme in ("bearer", "BEARER", "Bearer"):
        answer = httpx.get(url, headers={"Authorization": f"{scheme} {bridge.token}"})
        assert answer.status_code == 200, scheme
    for wrong in (f"Basic {bridge.token}", bridge.token, f"Bearer{bridge.token}"):
        assert httpx.get(url, headers={"Authorization": wrong}).status_code == 401
    # A token in the query string is never taken: it would end up in logs.
    assert httpx.get(url, params={"token": bridge.token}).status_code == 401


def test_head_answers_wherever_get_does(bridge: RunningBridge) -> None:
    for path in ("/api/v1/health", "/", "/static/page.js"):
        answer = httpx.head(f"{bridge.url}{path}")
        assert answer.status_code == 200, path
        assert answer.content == b""
    assert httpx.head(f"{bridge.url}/api/v1/devices").status_code == 401
    for path in ("/api/v1/devices", f"/api/v1/devices/{CAR}", "/api/v1/budget", "/metrics"):
        answer = httpx.head(f"{bridge.url}{path}", headers=bridge.headers)
        assert answer.status_code == 200, path
        assert answer.content == b""
    # The event stream's headers, then the end (a HEAD never streams).
    started = time.monotonic()
    events = httpx.head(f"{bridge.url}/api/v1/events", headers=bridge.headers, timeout=10)
    assert events.status_code == 200
    assert events.headers["content-type"].startswith("text/event-stream")
    assert time.monotonic() - started < 5
    # The page's cookie reads with HEAD as with GET.
    login = httpx.post(f"{bridge.url}/login", data={"token": bridge.token})
    cookie = {"kraken_bridge_session": login.cookies["kraken_bridge_session"]}
    assert httpx.head(f"{bridge.url}/api/v1/devices", cookies=cookie).status_code == 200
    # A GET route still refuses what it does not take.
    assert httpx.delete(f"{bridge.url}/api/v1/devices", headers=bridge.headers).status_code == 405


def test_logging_out_ends_the_session_for_every_copy_of_the_cookie(
    bridge: RunningBridge,
) -> None:
    login = httpx.post(f"{bridge.url}/login", data={"token": bridge.token})
    cookie = {"kraken_bridge_session": login.cookies["kraken_bridge_session"]}
    other = httpx.post(f"{bridge.url}/login", data={"token": bridge.token})
    other_cookie = {"kraken_bridge_session": other.cookies["kraken_bridge_session"]}
    assert cookie != other_cookie
    devices = f"{bridge.url}/api/v1/devices"
    assert httpx.get(devices, cookies=cookie).status_code == 200
    assert httpx.post(f"{bridge.url}/logout", cookies=cookie).status_code == 303
    assert httpx.get(devices, cookies=cookie).status_code == 401
    assert "page.js" not in httpx.get(f"{bridge.url}/", cookies=cookie).text
    # Another browser's session is its own.
    assert httpx.get(devices, cookies=other_cookie).status_code == 200


def test_sessions_expire_and_the_oldest_go_first() -> None:
    now = [0.0]
    sessions = Sessions(max_age_s=60, now=lambda: now[0])
    first = sessions.start()
    assert sessions.reads(first, "GET")
    assert sessions.reads(first, "head")
    assert not sessions.reads(first, "POST")
    now[0] = 61
    assert not sessions.valid(first)
    kept = [sessions.start() for _ in range(MAX_SESSIONS + 1)]
    assert not sessions.valid(kept[0])
    assert all(sessions.valid(session) for session in kept[1:])
    assert not sessions.valid(None)
    assert not sessions.valid("")


# --- files ------------------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def usual_umask() -> None:
    os.umask(0o022)


def test_the_data_directory_is_private_whatever_the_umask(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"  # the bridge makes it
    with running_bridge(
        "--demo", "--scenario", SCENARIO, data_dir=data_dir, preexec_fn=usual_umask
    ) as running:
        settings = httpx.put(
            f"{running.url}/api/v1/settings",
            headers=running.headers,
            json={"poll_interval_minutes": 2},
        )
        assert settings.status_code == 200
        assert mode(data_dir) == 0o700
        store_dir = data_dir / "demo"
        assert mode(store_dir) == 0o700
        database = store_dir / "history.sqlite3"
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            assert mode(path) == 0o600, path
        assert mode(data_dir / "bridge-token") == 0o600
        settings_files = list(data_dir.rglob("homey-settings.json"))
        assert settings_files, "the settings the app sent are kept"
        assert all(mode(path) == 0o600 for path in settings_files)


async def test_the_store_makes_its_files_private_even_in_a_directory_made_before(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    previous = os.umask(0o022)
    try:
        data_dir.mkdir()
        assert mode(data_dir) == 0o755
        store = await Store.open(data_dir / "history.sqlite3")
        await store.connection.execute("CREATE TABLE t (x)")
        await store.connection.commit()
        try:
            assert mode(data_dir) == 0o700
            assert sorted(p.name for p in data_dir.iterdir()) == [
                "history.sqlite3",
                "history.sqlite3-shm",
                "history.sqlite3-wal",
            ]
            assert all(mode(p) == 0o600 for p in data_dir.iterdir())
        finally:
            await store.close()
    finally:
        os.umask(previous)


# --- connections ----------------------------------------------------------------------------


def open_files_limit(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


def half_open(url: str, count: int) -> list[socket.socket]:
    """``count`` connections that send a request line and one header, and stop there."""
    parts = urlsplit(url)
    held = []
    for _ in range(count):
        sock = socket.create_connection((parts.hostname or "", parts.port or 80), timeout=5)
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: bridge\r\n")
        held.append(sock)
    return held


def test_half_open_connections_are_dropped_and_health_answers(tmp_path: Path) -> None:
    with running_bridge(
        "--demo",
        "--scenario",
        SCENARIO,
        data_dir=tmp_path,
        preexec_fn=lambda: open_files_limit(256),
    ) as running:
        held = half_open(running.url, 300)  # more than the bridge may have open at once
        try:
            started = time.monotonic()
            answered = None
            while time.monotonic() - started < HEADER_TIMEOUT_S * 3:
                try:
                    health = httpx.get(f"{running.url}/api/v1/health", timeout=3)
                except httpx.TimeoutException:
                    continue
                if health.status_code == 200:
                    answered = time.monotonic() - started
                    break
            assert answered is not None, "no /health answer under the flood"
            logged = sum(len(line) + 1 for line in running.output)
            print(f"/health answered after {answered:.1f} s; {logged} bytes logged")
            # The first connections wait out HEADER_TIMEOUT_S, the rest of a flood less.
            assert answered < HEADER_TIMEOUT_S
            time.sleep(2)  # the flood goes on: the kept connections try again
            assert httpx.get(f"{running.url}/api/v1/health", timeout=5).status_code == 200
            logged = sum(len(line) + 1 for line in running.output)
            assert logged < 100_000, f"{logged} bytes logged"
        finally:
            for sock in held:
                sock.close()


def test_past_the_concurrency_limit_new_requests_get_503(tmp_path: Path) -> None:
    # 96 open files: the bridge serves 32 connections (96 less the 64 it keeps).
    with running_bridge(
        "--demo",
        "--scenario",
        SCENARIO,
        data_dir=tmp_path,
        preexec_fn=lambda: open_files_limit(96),
    ) as running:
        parts = urlsplit(running.url)
        statuses, streams = [], []
        try:
            for _ in range(40):  # event streams, opened one by one and then never read
                sock = socket.create_connection((parts.hostname or "", parts.port or 80))
                sock.settimeout(5)
                sock.sendall(
                    f"GET /api/v1/events HTTP/1.1\r\nHost: bridge\r\n"
                    f"Authorization: Bearer {running.token}\r\n\r\n".encode()
                )
                statuses.append(int(sock.recv(12)[9:12]))
                streams.append(sock)
            assert statuses[:30] == [200] * 30
            assert statuses[-5:] == [503] * 5
            refused = httpx.get(f"{running.url}/api/v1/health", timeout=5)
            assert refused.status_code == 503
            assert "Service Unavailable" in refused.text
        finally:
            for sock in streams:
                sock.close()
        time.sleep(0.5)
        assert httpx.get(f"{running.url}/api/v1/health", timeout=5).status_code == 200


def test_repeated_log_lines_are_collapsed_with_a_count() -> None:
    now = [0.0]
    collapse = CollapseRepeats(interval_s=60, now=lambda: now[0])

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, message, None, None)

    assert collapse.filter(record("socket.accept() out of system resource"))
    for second in range(1, 1000):
        now[0] = second / 20
        assert not collapse.filter(record("socket.accept() out of system resource"))
    assert collapse.filter(record("something else"))
    now[0] = 61
    summary = record("socket.accept() out of system resource")
    assert collapse.filter(summary)
    assert summary.getMessage() == (
        "socket.accept() out of system resource (repeated 999 times in the last 61 s)"
    )


def test_json_answers_never_carry_a_traceback(bridge: RunningBridge) -> None:
    odd = [
        ("GET", "/api/v1/history.csv?from=0001-01-01T00:00:00%2B14:00&to=2026-03-10", None),
        ("POST", f"/api/v1/devices/{CAR}/actions/set_charge_target", {"ready_by": 18000}),
        ("PUT", "/api/v1/settings", {"poll_interval_minutes": "1e309"}),
    ]
    for method, path, body in odd:
        answer = httpx.request(method, f"{bridge.url}{path}", headers=bridge.headers, json=body)
        assert answer.status_code < 500, (path, answer.text)
        assert "Traceback" not in json.dumps(answer.json())


def test_none_of_this_left_more_than_one_traceback_in_the_log(bridge: RunningBridge) -> None:
    # Last in this module: everything above ran against this bridge.
    log = "\n".join(bridge.output)
    for error in ("ValueError", "OverflowError", "TypeError", "MemoryError"):
        assert error not in log, log
    # A client leaving an event stream early can still make FastAPI's SSE keep-alive task
    # fail (anyio.BrokenResourceError, FastAPI's own race); the same error is logged once
    # a minute at most, with a count.
    assert log.count("Exception in ASGI application") <= 1, log
