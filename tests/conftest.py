import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


def server_reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_server(host: str, port: int, what: str) -> None:
    """Skip when a database server is down, except in CI where it must be up."""
    if server_reachable(host, port):
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} on {host}:{port} is not reachable, and CI requires it")
    pytest.skip(f"{what} on {host}:{port} is not reachable")


# ---------------------------------------------------------------- a Spark standalone cluster
# A master and two workers from the pyspark distribution, on 127.0.0.1, started once for the
# test session by the first test that asks for `spark_cluster` and stopped at its end, every
# process they started (executors included) gone, whatever the tests did.

SPARK_WORKERS = 2
SPARK_WORKER_CORES = 1  # the machine's cores are shared: one each is a cluster all the same
SPARK_WORKER_MEMORY = "1g"  # room for one executor of Spark's default size (1g)
SPARK_DAEMON_MEMORY = "512m"  # the master's and workers' own heaps
SPARK_START_S = 240.0  # JVMs start slowly on a loaded machine
SPARK_STOP_S = 30.0  # after SIGTERM, before SIGKILL


def _free_port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _group_alive(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group `pgid`."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


class SparkCluster:
    """A standalone cluster's processes, each the leader of its own process group (a worker's
    executors are in its group), and where its logs are."""

    def __init__(self, home: Path, work: Path, workers: int = SPARK_WORKERS) -> None:
        self.home, self.work, self.workers = home, work, workers
        self.port, self.ui_port = _free_port(7077), _free_port(8080)
        self.url = f"spark://127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen] = []
        self.env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1",
                    "SPARK_LOG_DIR": str(work), "SPARK_DAEMON_MEMORY": SPARK_DAEMON_MEMORY}

    def _spawn(self, name: str, *args: str) -> None:
        with open(self.work / f"{name}.log", "wb") as log:
            self.procs.append(subprocess.Popen(
                [str(self.home / "bin" / "spark-class"), *args], cwd=self.work, env=self.env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True))

    def start(self) -> None:
        self._spawn("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                    "--port", str(self.port), "--webui-port", str(self.ui_port))
        for i in range(self.workers):
            work = self.work / f"worker{i}"
            work.mkdir()
            self._spawn(f"worker{i}", "org.apache.spark.deploy.worker.Worker", "--host",
                        "127.0.0.1", "--cores", str(SPARK_WORKER_CORES), "--memory",
                        SPARK_WORKER_MEMORY, "--webui-port", "0", "--work-dir", str(work), self.url)
        deadline = time.monotonic() + SPARK_START_S
        while self.alive_workers() < self.workers or not self.alive():
            dead = [p.args[1].rsplit(".", 1)[1] for p in self.procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                why = f"{dead[0]} exited" if dead else f"not up within {SPARK_START_S:.0f} s"
                raise RuntimeError(f"the Spark cluster did not start ({why}):\n{self.log_tail()}")
            time.sleep(1)

    def status(self) -> dict:
        """The master's own account of the cluster (its web UI's JSON)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=5) as r:
            return json.load(r)

    def alive(self) -> bool:
        try:
            return self.status()["status"] == "ALIVE"
        except (OSError, ValueError, KeyError):
            return False

    def alive_workers(self) -> int:
        try:
            return int(self.status()["aliveworkers"])
        except (OSError, ValueError, KeyError):
            return 0

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace")
                                                        .splitlines()[-lines:])
                         for log in sorted(self.work.glob("*.log")))

    def stop(self) -> list[int]:
        """Stop every process the cluster started (SIGTERM, then SIGKILL to what is left):
        the pids still alive after both."""
        for sig, wait in ((signal.SIGTERM, SPARK_STOP_S), (signal.SIGKILL, 5.0)):
            for p in self.procs:
                if _group_alive(p.pid):
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(p.pid, sig)
            deadline = time.monotonic() + wait
            while any(_group_alive(p.pid) for p in self.procs) and time.monotonic() < deadline:
                time.sleep(0.2)
        for p in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=5)  # reaped: no zombie of ours either
        return [pid for p in self.procs for pid in _group_alive(p.pid)]


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory):
    """A running standalone cluster (master and two workers registered); skipped outside CI
    when it cannot start (no pyspark, no Java), a failure in CI."""
    def unavailable(why: str):
        if os.environ.get("CI"):
            pytest.fail(f"the Spark cluster cannot start, and CI requires it: {why}")
        pytest.skip(f"the Spark cluster cannot start: {why}")

    try:
        import pyspark
    except ImportError:
        unavailable("pyspark is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        unavailable("no Java runtime (java on PATH or JAVA_HOME)")
    home = Path(os.environ.get("SPARK_HOME") or Path(pyspark.__file__).parent)
    cluster = SparkCluster(home, tmp_path_factory.mktemp("spark_cluster"))
    try:
        try:
            cluster.start()
        except (OSError, RuntimeError) as err:
            unavailable(str(err))
        yield cluster
    finally:
        from leadscore.engines.spark import stop_session

        stop_session(cluster.url)  # this process's driver, before its cluster goes
        left = cluster.stop()
        assert not left, f"Spark cluster processes left running: {left}"
