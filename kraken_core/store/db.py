"""SQLite history (aiosqlite): the embedded default store.

Schema changes are numbered migrations applied in order at open; the database is in WAL
mode so readers never wait for the poller's writes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from kraken_core.domain.timeline import RatePeriod

MIGRATIONS: tuple[str, ...] = (
    # 1: tariff rows as Kraken publishes them, and how far each tariff is known.
    """
    CREATE TABLE rate_rows (
        tariff_code TEXT NOT NULL,
        kind TEXT NOT NULL,
        valid_from TEXT NOT NULL,
        valid_to TEXT,
        value_inc_vat REAL NOT NULL,
        payment_method TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (tariff_code, kind, valid_from, payment_method)
    );
    CREATE TABLE rate_coverage (
        tariff_code TEXT NOT NULL,
        kind TEXT NOT NULL,
        known_from TEXT NOT NULL,
        known_until TEXT NOT NULL,
        PRIMARY KEY (tariff_code, kind)
    );
    """,
    # 2: meter history (issue 6). Times are UTC ISO text, slots keyed by their UTC start
    # with the London day they belong to. Energy in Wh, prices in p/kWh inc. VAT.
    """
    CREATE TABLE telemetry_readings (
        read_at TEXT PRIMARY KEY,
        import_wh REAL NOT NULL,
        export_wh REAL NOT NULL,
        demand_w REAL
    );
    CREATE TABLE slots (
        slot_start TEXT PRIMARY KEY,
        local_date TEXT NOT NULL,
        import_wh REAL NOT NULL DEFAULT 0,
        export_wh REAL NOT NULL DEFAULT 0,
        covered_s REAL NOT NULL DEFAULT 0,
        import_price REAL,
        tariff_price REAL,
        quadrant INTEGER,
        rate_source TEXT,
        export_price REAL
    );
    CREATE INDEX slots_by_local_date ON slots (local_date);
    CREATE TABLE dispatches (
        status TEXT NOT NULL,
        device_id TEXT NOT NULL,
        start TEXT NOT NULL,
        end TEXT NOT NULL,
        type TEXT NOT NULL,
        energy_kwh REAL,
        source TEXT,
        location TEXT,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        PRIMARY KEY (status, device_id, start, type)
    );
    """,
    # 3: a register may be missing (a null or 0 register is a missing reading, not a
    # value: ../shared/kraken/README.md "Smart meter telemetry"), and the gas meter's
    # history (issue 13): its readings and half-hour slots per meter point, Wh and p/kWh.
    """
    CREATE TABLE telemetry_readings_v3 (
        read_at TEXT PRIMARY KEY,
        import_wh REAL,
        export_wh REAL,
        demand_w REAL
    );
    INSERT INTO telemetry_readings_v3
        SELECT read_at, nullif(import_wh, 0), nullif(export_wh, 0), demand_w
        FROM telemetry_readings;
    DROP TABLE telemetry_readings;
    ALTER TABLE telemetry_readings_v3 RENAME TO telemetry_readings;
    CREATE TABLE gas_readings (
        mprn TEXT NOT NULL,
        read_at TEXT NOT NULL,
        gas_wh REAL NOT NULL,
        PRIMARY KEY (mprn, read_at)
    );
    CREATE TABLE gas_slots (
        mprn TEXT NOT NULL,
        slot_start TEXT NOT NULL,
        local_date TEXT NOT NULL,
        gas_wh REAL NOT NULL DEFAULT 0,
        covered_s REAL NOT NULL DEFAULT 0,
        unit_rate REAL,
        PRIMARY KEY (mprn, slot_start)
    );
    CREATE INDEX gas_slots_by_local_date ON gas_slots (local_date);
    """,
)


# The history says when the household is at home and what it pays: for its owner only,
# whatever the umask of whoever started the bridge.
PRIVATE_DIR_MODE, PRIVATE_FILE_MODE = 0o700, 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _make_private(path: Path) -> None:
    """The database's directory 0700 and the database (with its side files) 0600.

    The database is created here, 0600, before SQLite opens it: SQLite gives the -wal
    and -shm files it makes the database file's mode."""
    path.parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    with contextlib.suppress(PermissionError):  # a directory someone else owns stays theirs
        os.chmod(path.parent, PRIVATE_DIR_MODE)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE))
    for file in (path, *(path.with_name(path.name + side) for side in SQLITE_SIDE_FILES)):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(file, PRIVATE_FILE_MODE)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


class Store:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection

    @classmethod
    async def open(cls, path: Path) -> Store:
        _make_private(path)
        connection = await aiosqlite.connect(path)
        await connection.execute("PRAGMA journal_mode=WAL")
        await connection.execute("PRAGMA synchronous=NORMAL")
        # A small page cache: the bridge runs for months on a Raspberry Pi, and the hot
        # pages (today's slots, the latest readings) are few.
        await connection.execute("PRAGMA cache_size=-512")
        store = cls(connection)
        await store._migrate()
        return store

    @property
    def connection(self) -> aiosqlite.Connection:
        """For the other store modules (history); everything else uses methods here."""
        return self._db

    async def close(self) -> None:
        await self._db.close()

    async def schema_version(self) -> int:
        async with self._db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def _migrate(self) -> None:
        version = await self.schema_version()
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            await self._db.executescript(
                f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
            )

    async def save_rates(
        self,
        tariff_code: str,
        kind: str,
        rows: Sequence[RatePeriod],
        known_from: datetime,
        known_until: datetime,
    ) -> None:
        """Store fetched rows and widen what is known for the tariff, in one transaction."""
        await self._db.executemany(
            "INSERT OR REPLACE INTO rate_rows VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    tariff_code,
                    kind,
                    _iso(row.valid_from),
                    _iso(row.valid_to) if row.valid_to else None,
                    row.value_inc_vat,
                    row.payment_method or "",
                )
                for row in rows
            ],
        )
        await self._db.execute(
            """
            INSERT INTO rate_coverage VALUES (?, ?, ?, ?)
            ON CONFLICT (tariff_code, kind) DO UPDATE SET
                known_from = min(known_from, excluded.known_from),
                known_until = max(known_until, excluded.known_until)
            """,
            (tariff_code, kind, _iso(known_from), _iso(known_until)),
        )
        await self._db.commit()

    async def load_rates(
        self, tariff_code: str, kind: str
    ) -> tuple[list[RatePeriod], tuple[datetime, datetime] | None]:
        """Stored rows of a tariff and the span they are known to cover."""
        async with self._db.execute(
            "SELECT valid_from, valid_to, value_inc_vat, payment_method FROM rate_rows "
            "WHERE tariff_code = ? AND kind = ? ORDER BY valid_from",
            (tariff_code, kind),
        ) as cursor:
            rows = [
                RatePeriod(
                    valid_from=_parse(valid_from),
                    valid_to=_parse(valid_to) if valid_to else None,
                    value_inc_vat=float(value),
                    payment_method=method or None,
                )
                for valid_from, valid_to, value, method in await cursor.fetchall()
            ]
        async with self._db.execute(
            "SELECT known_from, known_until FROM rate_coverage WHERE tariff_code = ? AND kind = ?",
            (tariff_code, kind),
        ) as cursor:
            span = await cursor.fetchone()
        return rows, (_parse(span[0]), _parse(span[1])) if span else None
