"""Live one-node SLURM and Ray clusters for the whole session (see slurm_cluster.py, ray_cluster.py),
and helpers."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import orjson
import psutil
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ray_cluster import LocalRayCluster, ray_installed  # noqa: E402
from slurm_cluster import LocalSlurmCluster, slurm_installed  # noqa: E402

# small, so that 1,005 tasks need several arrays (datatrove's max_array_size split) while each array
# element runs many tasks (a process start each, the bulk of a trivial task's time); index < 21
MAX_ARRAY_SIZE = 21


def pytest_configure(config):
    config.addinivalue_line("markers", "slurm: needs a live SLURM cluster (started by the test session)")
    config.addinivalue_line("markers", "ray: needs a live Ray cluster (started by the test session)")


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    if not slurm_installed() or os.geteuid() != 0:
        reason = "SLURM (slurmctld, slurmd, slurm-client, munge) not installed or not root: `bash install.sh test` as root"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    # a short root path: slurm and munge socket paths must stay under the unix socket length limit
    root = Path(tmp_path_factory.mktemp("slurm"))
    # oversubscription lets the trivial-task test run 16 tiny tasks on 2 cores; presets throttle the rest
    cluster = LocalSlurmCluster(root, cpus=2, max_array_size=MAX_ARRAY_SIZE, oversubscribe=8).start()
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(cluster.conf)
    yield cluster
    subprocess.run(["scancel", "--user=root"], capture_output=True)
    time.sleep(1)
    cluster.stop()
    if old is None:
        os.environ.pop("SLURM_CONF", None)
    else:
        os.environ["SLURM_CONF"] = old


@pytest.fixture(scope="module")  # stopped after its module: idle, it still holds ~0.5 GiB and wakes up
def ray_cluster():
    if not ray_installed():
        reason = "Ray not installed: `pip install -e .[test]` (the ray extra)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    cluster = LocalRayCluster(cpus=2).start()
    yield cluster
    cluster.stop()


def cosmo(*args, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """`cosmo ...` from this venv as a real process (it submits with the real sbatch)."""
    python_path = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    full_env = os.environ | {"PYTHONUNBUFFERED": "1", "PYTHONPATH": python_path} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "cosmo_blocks.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


def queue_empty(job_ids=None) -> bool:
    cmd = ["squeue", "-h"] + (["-j", ",".join(job_ids)] if job_ids else [])
    res = subprocess.run(cmd, capture_output=True, text=True)
    return res.returncode == 0 and not res.stdout.strip()


def wait_for(predicate, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    queue = ""
    if shutil.which("squeue"):
        queue = subprocess.run(["squeue", "-o", "%i %j %T %r"], capture_output=True, text=True).stdout
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; squeue:\n{queue}")


def read_jsonl_dir(folder: Path) -> list[dict]:
    return [
        orjson.loads(line) for p in sorted(folder.rglob("*.jsonl")) for line in p.read_bytes().splitlines()
    ]


def journal_ids(logdir: Path, rank: int) -> list[str]:
    from cosmo_blocks.generation.journal import iter_journal

    path = logdir / "journal" / f"{rank:05d}.jsonl"
    return [entry["id"] for entry in iter_journal(path)] if path.is_file() else []


def generation_stats(logdir: Path, rank: int) -> dict:
    """Totals of the generation step in one task's stats (written when the task completed)."""
    steps = json.loads((logdir / "stats" / f"{rank:05d}.json").read_text())
    stats = next(step["stats"] for step in steps if "GENERATION" in step["name"])
    return {k: v["total"] if isinstance(v, dict) else v for k, v in stats.items()}


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
