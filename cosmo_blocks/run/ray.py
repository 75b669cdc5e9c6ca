"""Ray clusters through datatrove's RayPipelineExecutor, configured by a preset in executors/.

What we add around datatrove (and why):

- the cluster is checked before anything runs: an address that does not answer fails in seconds
  (`ray.init` on a dead address retries for up to a minute), a task that no node can hold fails
  instead of waiting forever for its placement group, and a probe task on the cluster checks that
  the workers import cosmo_blocks and see the logging folder;
- each task runs in its Ray actor itself: datatrove's worker forks a process pool per task, and a
  killed pool child hangs the run for ever while a killed actor leaves its child writing on beside
  the retry; in the actor, a SIGKILL is a crashed actor that datatrove resubmits (up to 3 times);
- task logs are written to `logs/task_*.log` as the task runs (datatrove's Ray executor copies them
  there only at the end), so `cosmo status` sees running and killed tasks;
- a task holds a lock file while it runs, so a resubmitted task never writes beside a live one
  (a node declared dead that still runs, two drivers on one output folder);
- stages run one after another, each only when every task of the one before completed (datatrove's
  `depends=` polls every 2 minutes and waits for ever on a failed task);
- a failed task is an error that names the stage (datatrove only logs a warning).
"""

import contextlib
import fcntl
import os
import secrets
import signal
import socket
from pathlib import Path

from datatrove.executor.base import PipelineExecutor
from datatrove.executor.ray import RankWorker, RayPipelineExecutor
from datatrove.io import DataFolder, file_is_local, get_datafolder
from datatrove.utils.logging import logger

from cosmo_blocks.errors import ConfigError
from cosmo_blocks.run.options import RunOptions
from cosmo_blocks.run.settings import ExecutorSettings
from cosmo_blocks.run.stages import StagePlan, run_in_order

START_HINT = "start one with `ray start --head --port=6379`"
PROBE_TIMEOUT = 120


@contextlib.contextmanager
def rank_lock(logging_dir: DataFolder, rank: int):
    """Hold `{logging_dir}/locks/{rank}.lock` (local or NFS folders only, no lock on object storage;
    released by the kernel even when the task is killed). A second holder waits, then finds the rank
    completed and skips it."""
    if not file_is_local(logging_dir):
        yield
        return
    path = Path(logging_dir.path) / "locks" / f"{rank:05d}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            logger.warning(f"rank {rank} is running elsewhere ({f.read().strip()}); waiting for it")
            fcntl.flock(f, fcntl.LOCK_EX)
        f.truncate(0)
        f.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        f.flush()
        yield


class CosmoRankWorker(RankWorker):
    """The Ray actor of one datatrove job: its ranks one after another, in this process."""

    def run_for_rank(self, executor_ref, ranks, node_ips, node_idx):
        # a raylet started with the subreaper option makes its workers ignore SIGCHLD, which their
        # children inherit: bubblewrap (the code sandbox) then waits for ever on its own child
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.environ["RAY_NODELIST"] = ",".join(node_ips)
        os.environ["RAY_NODEID"] = str(node_idx)
        if os.path.isdir(executor_ref.driver_cwd):
            os.chdir(executor_ref.driver_cwd)  # relative paths mean what they meant to the driver
        failure = None
        for local_rank, rank in enumerate(ranks, 1):
            try:
                executor_ref.run_rank_here(rank, local_rank)
            except Exception as e:  # the job's other ranks still run, as datatrove's pool does
                failure = failure or e
        if failure is not None:
            raise failure


@contextlib.contextmanager
def cosmo_rank_worker():
    """datatrove's submit thread creates `ray.remote(RankWorker)` by the module's global name."""
    import datatrove.executor.ray as dt_ray

    original, dt_ray.RankWorker = dt_ray.RankWorker, CosmoRankWorker
    try:
        yield
    finally:
        dt_ray.RankWorker = original


class CosmoRayExecutor(RayPipelineExecutor):
    """datatrove's Ray executor (task queue, placement groups, resubmission of crashed tasks) with
    each task run in its actor under a rank lock, logging to the logging folder as it goes."""

    def __init__(self, *args, **kwargs):
        # datatrove warns about every local logging folder; the cluster probe checks the real risk
        logger.disable("datatrove.executor.ray")
        try:
            super().__init__(*args, **kwargs)
        finally:
            logger.enable("datatrove.executor.ray")
        self.driver_cwd = os.getcwd()

    def run(self):
        with cosmo_rank_worker():
            super().run()

    def run_rank_here(self, rank: int, local_rank: int):
        with rank_lock(self.logging_dir, rank):
            PipelineExecutor._run_for_rank(self, rank, local_rank)


def parse_address(address: str) -> tuple[str, int] | None:
    """(host, port) of a `HOST:PORT` or `ray://HOST:PORT` address; None for `auto`/`local`."""
    if address in ("auto", "local"):
        return None
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"Ray address {address!r}: expected HOST:PORT, ray://HOST:PORT, 'auto' or 'local'")
    return host, int(port)


def resolve_address(settings: ExecutorSettings) -> tuple[str, str]:
    """The cluster address and where it came from: the preset's HOST:PORT, else RAY_ADDRESS, else
    the preset's 'auto' (the cluster started on this machine) or 'local' (a private one for this run)."""
    if settings.address not in ("", "auto", "local"):
        return settings.address, "preset address"
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"], "RAY_ADDRESS"
    if settings.address:
        return settings.address, "preset address"
    raise ConfigError(
        "no Ray cluster address: set `address` in the preset, `--set address=HOST:PORT` or RAY_ADDRESS "
        f"({START_HINT}), or use `--executor ray-local` to run on this machine"
    )


def probe_tcp(address: str, source: str, timeout: float = 5.0) -> None:
    hostport = parse_address(address)
    if hostport is None:
        return
    try:
        socket.create_connection(hostport, timeout=timeout).close()
    except OSError as e:
        raise ConfigError(
            f"cannot reach the Ray cluster at {address} (from {source}): {e.strerror or e}; is it running? "
            f"({START_HINT})"
        ) from None


def task_env(settings: ExecutorSettings) -> dict[str, str]:
    """What every task sees: the forwarded variables of this shell, HF_HOME and the preset's env.
    (Ray workers inherit the environment of the node's raylet, not the driver's.)"""
    env = {key: os.environ[key] for key in settings.forward_env if key in os.environ}
    if settings.hf_home:
        env["HF_HOME"] = os.path.expandvars(os.path.expanduser(settings.hf_home))
    return env | {key: str(value) for key, value in settings.env.items()}


def task_memory(settings: ExecutorSettings) -> int:
    return int(settings.mem_per_cpu_gb * settings.cpus_per_task * 1024**3)


def versions() -> dict:
    """What the driver and the tasks must agree on: the pickled pipeline is rebuilt from these."""
    from importlib.metadata import version

    return {name: version(name) for name in ("cosmo-blocks", "datatrove")}


def _probe(marker: str) -> dict:
    return {
        "versions": versions(),
        "sees_logging_dir": not marker or os.path.exists(marker),
        "host": socket.gethostname(),
    }


class RayAdapter:
    def __init__(self, opts: RunOptions):
        self.opts = opts
        self.executors: list[tuple[str, CosmoRayExecutor]] = []
        self.address, self.source = "", ""
        self.private = False
        self.unreachable = ""

    def prepare(self, stages: list[StagePlan]) -> None:
        settings = self.opts.settings
        self.executors = [(stage.name, self._executor(stage)) for stage in stages]
        self.address, self.source = resolve_address(settings)
        if self.opts.dry_run:
            try:
                probe_tcp(self.address, self.source)
            except ConfigError as e:
                self.unreachable = str(e)
            return
        probe_tcp(self.address, self.source)
        self._connect(settings)
        if settings.check_resources:
            self._check_resources(stages)
        self._probe_workers()

    def _executor(self, stage: StagePlan) -> CosmoRayExecutor:
        settings, run_env = stage.settings, task_env(self.opts.settings)
        remote = {"max_restarts": 0}
        if stage_env := {k: v for k, v in task_env(settings).items() if run_env.get(k) != v}:
            remote["runtime_env"] = {"env_vars": stage_env}
        return CosmoRayExecutor(
            stage.steps,
            tasks=stage.tasks,
            workers=stage.workers,
            logging_dir=stage.logging_dir,
            randomize_start_duration=settings.randomize_start_duration,
            cpus_per_task=settings.cpus_per_task,
            mem_per_cpu_gb=settings.mem_per_cpu_gb,
            gpus_per_task=settings.gpus_per_task,
            tasks_per_job=settings.tasks_per_job,
            ray_remote_kwargs=remote,
        )

    def _connect(self, settings: ExecutorSettings) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError("Ray is not installed: pip install 'cosmo-blocks[ray]'") from None
        hostport = parse_address(self.address)
        loopback = hostport is not None and hostport[0] in ("127.0.0.1", "localhost")
        self.private = self.address == "local"
        if self.private:
            os.environ.pop("RAY_ADDRESS", None)  # an empty one would still be read by ray.init
            # each worker leads a process group the raylet kills with it: a killed task's vLLM engine
            # process goes too
            os.environ.setdefault("RAY_process_group_cleanup_enabled", "true")
            # Ray protects a cluster it starts with a token; without one given, it writes one to
            # ~/.ray/auth_token, which every later `ray start` on this machine then requires
            os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
        try:
            ray.init(
                address=None if self.private else self.address,
                namespace="cosmo",
                log_to_driver=False,
                logging_level="WARNING",
                runtime_env={"env_vars": task_env(settings)},
                **(
                    {"include_dashboard": False, "object_store_memory": 256 * 1024**2} if self.private else {}
                ),
                _node_ip_address="127.0.0.1" if loopback else None,
            )
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise ConfigError(
                f"cannot connect to the Ray cluster at {self.address} (from {self.source}): {e}"
            ) from None

    def _check_resources(self, stages: list[StagePlan]) -> None:
        """Some node must hold one task of every stage; otherwise its placement group never starts."""
        import ray

        nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
        for stage in stages:
            need = {"CPU": stage.settings.cpus_per_task, "GPU": stage.settings.gpus_per_task}
            need["memory"] = task_memory(stage.settings)
            if any(all(node.get(k, 0) >= v for k, v in need.items()) for node in nodes):
                continue
            largest = max(nodes, key=lambda n: (n.get("GPU", 0), n.get("CPU", 0)), default={})
            have = f"CPU {largest.get('CPU', 0):g}, GPU {largest.get('GPU', 0):g}, memory {largest.get('memory', 0) / 1024**3:.1f} GiB"
            raise ConfigError(
                f"stage {stage.name!r}: a task needs CPU {need['CPU']}, GPU {need['GPU']}, memory "
                f"{need['memory'] / 1024**3:.1f} GiB, and no node of the Ray cluster at {self.address} has that "
                f"(the largest: {have}); lower cpus_per_task / gpus_per_task / mem_per_cpu_gb with --set, or "
                f"--set check_resources=false on an autoscaling cluster"
            )

    def _probe_workers(self) -> None:
        """One tiny task: the cluster's Python has our packages and sees the logging folder."""
        import ray

        logging_dir = self.opts.logging_dir
        folder = get_datafolder(logging_dir)
        marker = os.path.join(folder.path, ".ray_probe") if file_is_local(folder) else ""
        if marker:
            os.makedirs(os.path.dirname(marker), exist_ok=True)
            Path(marker).write_text(str(os.getpid()))
        try:
            found = ray.get(ray.remote(num_cpus=0)(_probe).remote(marker), timeout=PROBE_TIMEOUT)
        except ray.exceptions.GetTimeoutError:
            raise ConfigError(f"the Ray cluster at {self.address} ran no task in {PROBE_TIMEOUT} s") from None
        except ray.exceptions.RayError as e:
            raise ConfigError(
                f"a probe task failed on the Ray cluster at {self.address}: {e}; its workers need the same "
                "Python environment as this one (cosmo_blocks and datatrove installed)"
            ) from None
        finally:
            if marker:
                Path(marker).unlink(missing_ok=True)
        if found["versions"] != versions():
            raise ConfigError(
                f"the Ray workers (on {found['host']}) run {found['versions']}, this command {versions()}: "
                "install the same versions on every node"
            )
        if not found["sees_logging_dir"]:
            raise ConfigError(
                f"the Ray workers (on {found['host']}) cannot see {logging_dir}: on several machines the output "
                "must be on a shared filesystem or in object storage (s3://...)"
            )

    def describe(self) -> str:
        settings = self.opts.settings
        if self.address == "local":
            lines = [
                "ray cluster: a private Ray instance on this machine, started for the run and stopped after it"
            ]
        else:
            lines = [f"ray cluster: {self.address} (from {self.source})"]
        if self.unreachable:
            lines.append(f"  !! {self.unreachable}")
        forwarded = [k for k in settings.forward_env if k in os.environ]
        lines.append(
            f"  environment for the tasks: {', '.join(sorted(task_env(settings)))} "
            + f"(forwarded from this shell: {', '.join(forwarded) or 'none'})"
        )
        for name, ex in self.executors:
            incomplete = len(ex.get_incomplete_ranks())
            workers = ex.workers if ex.workers != ex.tasks else "all"
            lines.append(
                f"  stage {name}: {incomplete} of {ex.tasks} tasks to run, up to {workers} at once; each task: "
                f"{ex.cpus_per_task} CPU, {ex.gpus_per_task} GPU, {ex.mem_per_cpu_gb * ex.cpus_per_task:g} GiB"
            )
        return "\n".join(lines)

    def launch(self) -> CosmoRayExecutor:
        import ray

        try:
            return run_in_order("ray", self.opts, self.executors)
        finally:
            ray.shutdown()
