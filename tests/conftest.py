"""Shared fixtures. Every test gets its own warehouse; none touches the user's .quorum/."""

import atexit
import os
import shutil
import tempfile

# Before any Quorum import: the settings read QUORUM_HOME once per process.
_SESSION_HOME = tempfile.mkdtemp(prefix="quorum-tests-")
atexit.register(shutil.rmtree, _SESSION_HOME, ignore_errors=True)
os.environ["QUORUM_HOME"] = _SESSION_HOME
os.environ["DAGSTER_HOME"] = os.path.join(_SESSION_HOME, "dagster")
for variable in ("QUORUM_MARKET_DATA", "QUORUM_BENCHMARK_SYMBOL", "QUORUM_PROFILE"):
    os.environ.pop(variable, None)

import contextlib  # noqa: E402
import functools  # noqa: E402
from collections.abc import Callable, Iterator, Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import dagster as dg  # noqa: E402
import duckdb  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from dagster_dbt import DbtCliResource  # noqa: E402
from filelock import FileLock  # noqa: E402

from assets.features.feature_store import feast_registry, online_features, training_set  # noqa: E402
from assets.ingestion.raw_prices import raw_prices  # noqa: E402
from assets.resources import FeastStore, MarketDataSource, Warehouse  # noqa: E402
from assets.transform.dbt_models import build_dbt_assets, prepared_dbt_project  # noqa: E402
from features.ingestion.market_data import load_market_data  # noqa: E402
from features.parquet_store import ParquetStore  # noqa: E402
from features.settings import current_settings  # noqa: E402
from orchestration import instance  # noqa: E402
from tests.support.services import (  # noqa: E402
    PrivatePostgres,
    PrivateRedis,
    PrivateSeaweedFS,
    ServiceUnavailable,
)

# The tests' own process keeps Feast's run-time type checks (a development aid, off in a
# deployment's processes: features/feast_checks.py), so that a misuse of Feast's API in
# Quorum's code fails here. A Deployment's processes get none of the caller's QUORUM_ variables.
os.environ.setdefault("QUORUM_FEAST_TYPE_CHECKS", "true")
# dbt's profile and Feast's yaml read the session home's paths from the environment.
instance.export_env(current_settings())


# What each library's thread pool reads when it loads (BLAS, OpenMP under LightGBM and
# PyTorch): set before xdist starts its workers, so they and every process they start (the
# daily script, dagster-daemon, run workers) inherit it.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def pytest_configure(config: pytest.Config) -> None:
    """Parse dbt's manifest once, before any xdist worker starts: workers sharing dbt/target
    must not parse it at the same time. With N workers, each gets its share of the cores:
    two workers each spinning a pool as wide as the machine ran LightGBM 2-3x slower than
    one thread each (OpenMP threads wait for a core the other worker holds)."""
    if hasattr(config, "workerinput"):
        return
    prepared_dbt_project()
    workers = getattr(config.option, "numprocesses", None)
    if isinstance(workers, int) and workers > 1:
        share = str(max(1, (os.cpu_count() or 1) // workers))
        for variable in THREAD_VARIABLES:
            os.environ.setdefault(variable, share)


# The longest files first, so that with one file per xdist worker the fault module (minutes of
# daemon runs) does not start last and leave one core idle at the end.
SLOWEST_FIRST = (
    "tests/integration/test_production_faults.py",
    "tests/integration/test_distributed.py",
    "tests/agents/backtest/test_desk_run.py",
    "tests/integration/test_end_to_end.py",
    "tests/dbt/test_feature_sql.py",
    "tests/integration/test_promotion_on_real_models.py",
    "tests/assets/test_decision_cycle.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {path: i for i, path in enumerate(SLOWEST_FIRST)}
    root = Path(str(config.rootpath))

    def key(item: pytest.Item) -> int:
        relative = Path(str(item.path)).relative_to(root).as_posix()
        return rank.get(relative, len(rank))

    items.sort(key=key)  # stable: the order inside each file is kept


@contextlib.contextmanager
def _started(start: Callable[[], object], stop_name: str) -> Iterator[object]:
    try:
        server = start()
    except ServiceUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield server
    finally:
        getattr(server, stop_name)()


@pytest.fixture(scope="session")
def start_postgres() -> Callable[[], contextlib.AbstractContextManager[PrivatePostgres]]:
    """Starts a throwaway PostgreSQL server for a block; stopped and deleted after it."""
    return lambda: _started(PrivatePostgres.start_new, "stop")


@pytest.fixture(scope="session")
def start_redis() -> Callable[[], contextlib.AbstractContextManager[PrivateRedis]]:
    """Starts a throwaway Redis server for a block; stopped and deleted after it."""
    return lambda: _started(PrivateRedis.start_new, "remove")


@pytest.fixture(scope="session")
def postgres_server(start_postgres) -> Iterator[PrivatePostgres]:
    """The session's own PostgreSQL (tests that only read and write their own databases)."""
    with start_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def redis_server(start_redis) -> Iterator[PrivateRedis]:
    """The session's own Redis (tests that use their own key prefix)."""
    with start_redis() as server:
        yield server


@pytest.fixture
def private_s3(monkeypatch) -> Iterator[PrivateSeaweedFS]:
    """A throwaway S3 store (SeaweedFS) for one test, its credentials in this process's
    environment (as boto3's and pyarrow's clients read them); stopped and deleted after it."""
    with _started(PrivateSeaweedFS.start_new, "remove") as server:
        for name, value in server.credentials.items():
            monkeypatch.setenv(name, value)
        yield server


@pytest.fixture(scope="session")
def sp500_prices() -> pd.DataFrame:
    """skfolio's real S&P 500 prices, long format (the embedded default's data)."""
    return load_market_data("sp500").prices


def price_slice(prices: pd.DataFrame, symbols: Sequence[str], start: str, end: str) -> pd.DataFrame:
    mask = prices["symbol"].isin(symbols) & prices["date"].between(start, end)
    return prices.loc[mask].reset_index(drop=True)


def write_prices(frame: pd.DataFrame, path: Path) -> Path:
    """Write prices as a user would: long CSV with ISO dates, only the columns that exist."""
    columns = ["date", "symbol"] + [
        c for c in ("open", "high", "low", "close", "volume") if frame[c].notna().any()
    ]
    out = frame[columns].copy()
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    out.to_csv(path, index=False)
    return path


def altered_training_rows(
    training: pd.DataFrame,
    *,
    cutoff: str | None = None,
    backwards: bool = False,
    shift: Sequence[str] | None = None,
) -> pd.DataFrame:
    """A training set made deliberately different: only rows up to ``cutoff``, the label's
    sign flipped (a model that learns the signal backwards), or the ``shift`` features in
    other units (a vendor file rescaled: x * 3 + 1)."""
    rows = training.copy()
    if cutoff is not None:
        rows = rows[rows["event_timestamp"] <= pd.Timestamp(cutoff, tz="UTC")]
    if backwards:
        rows["forward_excess_return_5d"] = -rows["forward_excess_return_5d"]
    if shift:
        rows[list(shift)] = rows[list(shift)] * 3 + 1
    return rows


@functools.cache
def dbt_assets_and_project():
    """The dbt project (manifest parsed once per session) and its assets."""
    project = prepared_dbt_project()
    return build_dbt_assets(project), project


@dataclass
class Workspace:
    """An isolated QUORUM_HOME with its own warehouse, for materializing the asset graph."""

    root: Path

    @classmethod
    def prepare(cls, home: Path, setenv: Callable[[str, str], None]) -> "Workspace":
        """Create the folders and set the variables through which dbt (a child process) and
        Feast's yaml find this home; ``setenv`` is a MonkeyPatch's, so they are restored."""
        (home / "exports").mkdir(parents=True)
        for name, value in {
            "QUORUM_HOME": home,
            "QUORUM_WAREHOUSE": home / "warehouse.duckdb",
            "QUORUM_EXPORTS": home / "exports",
            "QUORUM_FEAST_PROJECT": "quorum_test",
        }.items():
            setenv(name, str(value))
        return cls(home)

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def export_store(self) -> ParquetStore:
        """The exports as the steps read them (this home's folder)."""
        return ParquetStore(str(self.exports))

    def materialize(
        self,
        spec: str,
        *,
        selection: str | None = None,
        benchmark: str | None = None,
        raise_on_error: bool = True,
    ) -> dg.ExecuteInProcessResult:
        dbt_models, dbt_project = dbt_assets_and_project()
        return dg.materialize(
            [raw_prices, dbt_models, feast_registry, online_features, training_set],
            selection=selection or "group:ingestion or group:transform",
            resources={
                "market_data": MarketDataSource(spec=spec, benchmark_symbol=benchmark),
                "warehouse": Warehouse(path=str(self.warehouse)),
                "dbt": DbtCliResource(project_dir=dbt_project),
                "feast": FeastStore(
                    exports_dir=str(self.exports), training_root=str(self.root / "training")
                ),
            },
            raise_on_error=raise_on_error,
        )

    def query(self, sql: str) -> pd.DataFrame:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql).df()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    return Workspace.prepare(tmp_path / "quorum", monkeypatch.setenv)


DAILY_GRAPH_SYMBOLS = ["AAPL", "JNJ", "CVX", "SP500"]


@pytest.fixture(scope="session")
def daily_graph(tmp_path_factory, sp500_prices):
    """The whole daily graph (ingest -> dbt -> Feast) built once, on 3 real stocks and the
    index from mid-2020 to 2022; yields (workspace, result, embedded feature store)."""
    from features.store import open_store

    home = tmp_path_factory.mktemp("daily") / "quorum"
    with pytest.MonkeyPatch.context() as env:
        space = Workspace.prepare(home, env.setenv)
        data = price_slice(sp500_prices, DAILY_GRAPH_SYMBOLS, "2020-06-01", "2022-12-31")
        result = space.materialize(
            f"csv:{write_prices(data, home / 'prices.csv')}",
            selection="group:ingestion or group:transform or group:features",
            benchmark="SP500",
        )
        yield space, result, open_store("embedded")


REAL_UNIVERSE_PERIOD = ("2006-01-01", "2014-12-31")


@pytest.fixture(scope="session")
def real_universe(tmp_path_factory, sp500_prices, worker_id, testrun_uid) -> Workspace:
    """All 20 real stocks and the index, 2006-2014, through ingest -> dbt -> Feast's training
    set (no online store): long enough to train the signal model walk-forward. Tests only
    read it, so xdist's workers share one build: the first builds it under a lock, the
    others wait for it (pytest-xdist's documented pattern for session fixtures)."""
    if worker_id == "master":  # no xdist: this process's own
        return _build_real_universe(tmp_path_factory.mktemp("universe") / "quorum", sp500_prices)
    shared = tmp_path_factory.getbasetemp().parent / f"real-universe-{testrun_uid}"
    shared.mkdir(exist_ok=True)
    with FileLock(str(shared / "build.lock")):
        if not (shared / "built").exists():
            _build_real_universe(shared / "quorum", sp500_prices)
            (shared / "built").touch()
    return Workspace(shared / "quorum")


def _build_real_universe(home: Path, sp500_prices: pd.DataFrame) -> Workspace:
    with pytest.MonkeyPatch.context() as env:
        space = Workspace.prepare(home, env.setenv)
        symbols = sorted(sp500_prices["symbol"].unique())
        data = price_slice(sp500_prices, symbols, *REAL_UNIVERSE_PERIOD)
        space.materialize(
            f"csv:{write_prices(data, home / 'prices.csv')}",
            selection="group:ingestion or group:transform or key:feast_registry "
            "or key:training_set",
            benchmark="SP500",
        )
    return space


@pytest.fixture(scope="module")
def replay_online_store(daily_graph):
    """The daily graph's workspace and online store, for a module whose desk replays old
    sessions into that store; afterwards the newest close goes back, so modules that run later
    read what the daily graph materialized, not a replayed day beyond the views' TTL."""
    from features.store import SessionPublisher, exported_time_range

    space, _, store = daily_graph
    yield space, store
    newest = exported_time_range(space.export_store)[1]
    SessionPublisher(store, space.export_store).publish(newest.date() + timedelta(days=1))
