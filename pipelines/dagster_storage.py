"""Dagster's SQLite storage, with one SQLAlchemy engine and one pooled connection per event-log database.

Dagster's SQLite event log builds a new SQLAlchemy engine for every event it stores, opens a new SQLite
connection, and closes it again, which in WAL mode checkpoints the log: ~8 ms per event. A `kpo run` stores
~800 events (each step's start and end, ~200 asset-check evaluations, the `warehouse` pool's slot claims), so
that was ~6 s of a ~55 s run. This subclass keeps each database's engine and one idle connection (~2 ms per
event). The databases are in WAL mode (Dagster sets it), where an idle connection holds no lock: the
webserver, the daemon and a run still read and write the same files concurrently, and a killed process
leaves a WAL that the next connection recovers. Everything else - file layout, schema, migrations,
durability (SQLite's default synchronous setting) - is Dagster's own, so a KPO_HOME written by the stock
storage reads unchanged, and `storage: postgres` in dagster.yaml still replaces it for scale-out.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as db
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SQLITE_BUSY_TIMEOUT_SECONDS, SqliteEventLogStorage
from dagster._core.storage.runs import SqliteRunStorage
from dagster._core.storage.schedules import SqliteScheduleStorage
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

# Engines kept per process: a run touches its own shard and the index; the webserver and daemon touch many
# runs over weeks, so the least recently used engines are dropped past this many.
MAX_ENGINES = 32


class KpoSqliteEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage that reuses one engine and connection per shard (a run's database, the index)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data=inst_data)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.pop(shard, None)
        if engine is None:
            # One idle connection kept per database (uses are serialised by _db_lock, so one is all a
            # storage ever needs at a time).
            engine = db.create_engine(self.conn_string_for_shard(shard), poolclass=QueuePool, pool_size=1,
                                      connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
        self._engines[shard] = engine
        while len(self._engines) > MAX_ENGINES:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # The same steps as Dagster's _connect (lock, create the shard's tables on first use, one transaction),
        # less the engine built and disposed of, and the connection closed, each time.
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def wipe(self) -> None:
        # wipe deletes the run databases' files: no pooled connection may keep writing to a deleted file
        with self._db_lock:
            self._forget_engines()
        super().wipe()

    def dispose(self) -> None:
        self._forget_engines()
        super().dispose()

    def _forget_engines(self) -> None:
        while self._engines:
            self._engines.popitem()[1].dispose()


class KpoSqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage (runs, event log, schedules in the usual folders under base_dir), with the
    event log above. Configured in dagster.yaml as `storage: custom:`."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):  # noqa: D107
        # DagsterSqliteStorage.__init__ would build a stock event log first (and create its index); build ours.
        self.base_dir = base_dir
        self._run_storage = SqliteRunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = KpoSqliteEventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = SqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        super(DagsterSqliteStorage, self).__init__()

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: dict) -> KpoSqliteStorage:  # type: ignore[override]
        return cls.from_local(inst_data=inst_data, **config_value)
