"""SLURM arrays through datatrove's SlurmPipelineExecutor, configured by a preset in executors/.

What we add around datatrove (and why):

- presets are checked before anything is submitted: an unknown key (a typo), a missing `sbatch`,
  a partition the cluster does not have each fail with a message that says what to change;
- `max_array_size = "auto"` reads MaxArraySize from `scontrol show config`, so an array larger
  than the cluster allows is split into several arrays (datatrove's max_array_size) instead of
  being rejected by sbatch;
- environment activation by venv / conda / `module load` plus exported variables (HF cache);
- every array job id of a stage is kept (`CosmoSlurmExecutor.job_ids`): datatrove only remembers
  the last one, so a later stage would depend on the last chunk of a split array only;
- `--kill-on-invalid-dep=yes` on every job: when a task fails, the jobs that depend on it with
  afterok (the next stage, datatrove's merge_stats job) are cancelled instead of staying PENDING
  with DependencyNeverSatisfied forever (datatrove issues #235 / #238); `cosmo status` names the
  failed task and the cancelled stage;
- `--dry-run` prints the sbatch script(s) without submitting.
"""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from datatrove.executor.slurm import SlurmPipelineExecutor
from datatrove.utils.logging import logger

from cosmo_blocks.errors import ConfigError
from cosmo_blocks.run.options import RunOptions
from cosmo_blocks.run.record import RunRecord, StageRecord
from cosmo_blocks.run.settings import ExecutorSettings
from cosmo_blocks.run.stages import StagePlan

SLURM_REQUIRED = ("partition", "time")


class CosmoSlurmExecutor(SlurmPipelineExecutor):
    """datatrove's executor, remembering every array job it submits (a split array is several)."""

    def __init__(self, *args, **kwargs):
        self.job_ids: list[str] = []
        super().__init__(*args, **kwargs)

    @property
    def job_id(self):
        return self._job_id

    @job_id.setter
    def job_id(self, value):
        # datatrove sets job_id once per submitted array chunk (and -1 when nothing is left to run)
        self._job_id = value
        if value not in (None, -1):
            self.job_ids.append(str(value))

    def get_launch_file_contents(self, sbatch_args: dict, run_script: str) -> str:
        """datatrove's script, without its indentation quirks for multi-line environment setup."""
        directives = "\n".join(
            f"#SBATCH --{k}={v}" if v else f"#SBATCH --{k}" for k, v in sbatch_args.items()
        )
        return (
            f"#!/bin/bash\n{directives}\n"
            f'echo "Starting data processing job {self.job_name}"\n'
            f"{self.env_command or ''}\n"
            "set -xe\n"
            "export PYTHONUNBUFFERED=TRUE\n"
            f"{run_script}\n"
        )

    def array_jobs(self) -> list[tuple[str, int]]:
        """What launch_job would submit: (the --array range, number of tasks) per array job."""
        ranks = self.get_incomplete_ranks()
        jobs = -(-len(ranks) // self.tasks_per_job)
        size = jobs if self.max_array_size == -1 else min(jobs, self.max_array_size)
        chunks = []
        for start in range(0, jobs, size or 1):
            n = min(size, jobs - start)
            throttle = f"%{self.workers}" if self.workers != -1 else ""
            chunks.append((f"0-{size - 1}{throttle}", n))
        return chunks

    def dry_run_script(self) -> str:
        run = f"launch_pickled_pipeline {self.logging_dir.resolve_paths('executor.pik')}"
        if self.with_srun:
            srun_args = " ".join(f"--{k}={v}" for k, v in (self.srun_args or {}).items())
            run = f"srun {srun_args} -l -n {self.nodes_per_task} {run}"
        chunks = self.array_jobs()
        size = int(chunks[0][0].split("-")[1].split("%")[0]) + 1 if chunks else 1
        # datatrove's get_sbatch_args creates the SLURM log folder for sbatch; a dry run leaves none
        missing = missing_dirs(Path(self.slurm_logs_folder))
        try:
            return self.get_launch_file_contents(self.get_sbatch_args(size), run)
        finally:
            for folder in missing:
                folder.rmdir()


def missing_dirs(path: Path) -> list[Path]:
    """`path` and its ancestors that do not exist yet, deepest first."""
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing


# ---------------------------------------------------------------------------------------------
# the cluster: checked before submission


def cluster_max_array_size(default: int = 1001) -> int:
    """MaxArraySize from `scontrol show config`; array indices go from 0 to MaxArraySize - 1."""
    if not shutil.which("scontrol"):
        return default
    res = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True)
    for line in res.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "MaxArraySize":
            try:
                return int(value.strip())
            except ValueError:
                return default
    return default


def check_partition(partition: str) -> None:
    res = subprocess.run(["scontrol", "show", "partition", partition], capture_output=True, text=True)
    if res.returncode == 0 and f"PartitionName={partition}" in res.stdout:
        return
    if res.returncode != 0 and "not found" not in (res.stdout + res.stderr).lower():
        raise ConfigError(
            f"could not ask SLURM about partition {partition!r}: {(res.stderr or res.stdout).strip()}"
        )
    listing = subprocess.run(["sinfo", "-h", "-o", "%R"], capture_output=True, text=True).stdout.split()
    raise ConfigError(
        f"partition {partition!r} does not exist on this cluster; partitions: {', '.join(sorted(set(listing))) or '(none)'}."
        " Set `partition` in the preset or pass --partition."
    )


def check_cluster(partitions: list[str], dry_run: bool) -> None:
    """Fail before submission (and before any GPU time) on what sbatch would reject later."""
    if shutil.which("sbatch") is None:
        if dry_run:
            logger.warning("sbatch not found: printing the script only, nothing could be submitted from here")
            return
        raise ConfigError(
            "sbatch not found on PATH: run from a SLURM login node (or use --executor local); "
            "--dry-run prints the sbatch script without submitting"
        )
    for partition in dict.fromkeys(partitions):
        try:
            check_partition(partition)
        except ConfigError as e:
            if not dry_run:
                raise
            logger.warning(f"{e} (dry run: printing the script anyway)")


# ---------------------------------------------------------------------------------------------
# settings -> executor arguments


def env_command(settings: ExecutorSettings) -> str:
    """Shell lines that make the job see the same software: modules, then venv or conda, then env."""
    lines = []
    if settings.modules:
        lines.append("module load " + " ".join(settings.modules))
    if settings.venv == "auto":
        # the interpreter launching the run: its bin/ holds python, launch_pickled_pipeline, merge_stats
        lines.append(f"export VIRTUAL_ENV={sys.prefix} PATH={Path(sys.executable).parent}:$PATH")
    elif settings.venv:
        lines.append(f"source {Path(settings.venv).expanduser()}/bin/activate")
    if settings.conda_env:
        lines.append(f'eval "$(conda shell.bash hook)" && conda activate {settings.conda_env}')
    if settings.hf_home:
        lines.append(f"export HF_HOME={settings.hf_home}")
    for key, value in settings.env.items():
        lines.append(f"export {key}={json.dumps(str(value))}")
    if settings.env_command:
        lines.append(settings.env_command)
    return "\n".join(lines)


def executor_kwargs(stage: StagePlan, job_name: str) -> dict:
    settings = stage.settings
    missing = [key for key in SLURM_REQUIRED if not getattr(settings, key)]
    if missing:
        raise ConfigError(
            f"stage {stage.name!r}: a SLURM run needs {', '.join(missing)} (in the preset, or "
            + " ".join(f"--{key}" for key in missing)
            + ")"
        )
    max_array = settings.max_array_size
    max_array = cluster_max_array_size() if max_array == "auto" else max_array
    sbatch_args = {"kill-on-invalid-dep": "yes"}
    if settings.signal:
        sbatch_args["signal"] = settings.signal
    sbatch_args |= settings.sbatch_args
    return dict(
        tasks=stage.tasks,
        workers=stage.workers,
        time=settings.time,
        partition=settings.partition,
        qos=settings.qos,
        cpus_per_task=settings.cpus_per_task,
        mem_per_cpu_gb=settings.mem_per_cpu_gb,
        gpus_per_task=settings.gpus_per_task,
        job_name=settings.job_name or job_name,
        env_command=env_command(settings) or None,
        sbatch_args=sbatch_args,
        srun_args=settings.srun_args or None,
        with_srun=settings.with_srun,
        max_array_size=max_array,
        tasks_per_job=settings.tasks_per_job,
        requeue=settings.requeue,
        requeue_signals=tuple(settings.requeue_signals) or None,
        mail_user=settings.mail_user or None,
        mail_type=settings.mail_type,
        randomize_start_duration=settings.randomize_start_duration,
        logging_dir=stage.logging_dir,
    )


# ---------------------------------------------------------------------------------------------
# the adapter


class SlurmAdapter:
    """Every stage as SLURM array job(s), submitted together; each later stage waits (afterok) on
    every array job of the previous one.

    Stages whose tasks are all complete are skipped (datatrove's completion markers), so running the
    same command again resubmits only what is unfinished.
    """

    def __init__(self, opts: RunOptions):
        self.opts = opts
        self.executors: list[tuple[str, CosmoSlurmExecutor]] = []

    def prepare(self, stages: list[StagePlan]) -> None:
        job_name = f"cosmo-{Path(self.opts.output).name}"
        self.executors = [
            (stage.name, CosmoSlurmExecutor(stage.steps, **executor_kwargs(stage, job_name)))
            for stage in stages
        ]
        check_cluster([ex.partition for _, ex in self.executors], self.opts.dry_run)

    def describe(self) -> str:
        """The sbatch script of each stage, as it would be submitted."""
        out, previous = [], None
        for name, ex in self.executors:
            chunks = ex.array_jobs()
            if not chunks:
                out.append(f"# stage {name}: all {ex.tasks} tasks complete, nothing to submit")
            else:
                dep = f" --dependency=afterok:<jobs of stage {previous}>" if previous is not None else ""
                out.append(
                    f"# stage {name}: {len(chunks)} array job(s) ({', '.join(c[0] for c in chunks)}), "
                    f"{sum(c[1] for c in chunks)} array tasks of {ex.tasks}; each submitted as\n"
                    f"#   sbatch --export=ALL,RUN_OFFSET=<i>{dep} <this script>"
                )
                out.append(ex.dry_run_script())
            previous = name
        return "\n".join(out)

    def launch(self) -> CosmoSlurmExecutor:
        record = RunRecord("slurm", time.time())
        previous = None
        for name, ex in self.executors:
            if previous is not None and previous.job_ids:
                ex.depends_job_id = ":".join(previous.job_ids)
            ex.launch_job()
            if not ex.job_ids:
                logger.info(f"stage {name}: all {ex.tasks} tasks already complete")
            else:
                logger.info(f"stage {name}: submitted array job(s) {', '.join(ex.job_ids)}")
            record.stages.append(StageRecord.from_executor(name, ex))
            previous = ex
        record.write(self.opts.logging_dir)
        logger.info(f"watch it with: cosmo status {self.opts.logging_dir}")
        return self.executors[-1][1]
