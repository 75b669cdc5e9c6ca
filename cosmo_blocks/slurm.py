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

import difflib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from datatrove.executor.slurm import SlurmPipelineExecutor
from datatrove.utils.logging import logger

# preset key -> meaning; everything a preset may say (anything else is a typo and an error)
PRESET_KEYS = {
    "executor": "local or slurm",
    "tasks": "number of datatrove tasks (shards)",
    "workers": "array throttle: tasks running at once (-1: no limit)",
    "partition": "SLURM partition (checked with scontrol before submission)",
    "qos": "SLURM QoS ('' for none)",
    "time": "time limit per task, e.g. '24:00:00'",
    "gpus_per_task": "GPUs per task (2 for Mixtral-8x7B in bf16, 1 with FP8)",
    "cpus_per_task": "CPUs per task",
    "mem_per_cpu_gb": "memory per CPU in GB",
    "job_name": "SLURM job name",
    "requeue": "requeue the task when it is preempted or its node fails",
    "requeue_signals": "signals on which a task requeues itself, e.g. ['SIGUSR1']",
    "signal": "sbatch --signal, e.g. 'USR1@120' (preemption warning for requeue_signals)",
    "max_array_size": "largest array SLURM accepts; 'auto' reads MaxArraySize from scontrol",
    "tasks_per_job": "datatrove tasks run one after another by one array element",
    "venv": "virtualenv folder to activate; 'auto': the one launching the run",
    "conda_env": "conda environment to activate",
    "modules": "list of environment modules to `module load`",
    "env_command": "extra shell lines run before the task (after modules/venv/conda)",
    "hf_home": "HF_HOME for the tasks (model cache on a shared filesystem)",
    "env": "table of environment variables exported in the job",
    "sbatch_args": "table of extra sbatch options, e.g. {account = 'x', constraint = 'h100'}",
    "srun_args": "table of extra srun options",
    "with_srun": "run the task under srun (default true)",
    "mail_user": "address for SLURM mail",
    "mail_type": "SLURM mail types (default ALL when mail_user is set)",
    "randomize_start_duration": "seconds of random delay before each task starts (spreads loads)",
    "description": "free text",
}
SLURM_REQUIRED = ("partition", "time")


class SlurmPresetError(ValueError):
    pass


def check_preset_keys(preset: dict, name: str) -> None:
    for key in preset:
        if key not in PRESET_KEYS:
            close = difflib.get_close_matches(key, PRESET_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SlurmPresetError(
                f"executor preset {name!r}: unknown key {key!r}{hint}; known keys: {', '.join(sorted(PRESET_KEYS))}"
            )


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
        return self.get_launch_file_contents(self.get_sbatch_args(size), run)


# ---------------------------------------------------------------------------------------------
# the cluster: checked before submission


def slurm_command(name: str) -> list[str] | None:
    path = shutil.which(name)
    return [path] if path else None


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
        raise SlurmPresetError(
            f"could not ask SLURM about partition {partition!r}: {(res.stderr or res.stdout).strip()}"
        )
    listing = subprocess.run(["sinfo", "-h", "-o", "%R"], capture_output=True, text=True).stdout.split()
    raise SlurmPresetError(
        f"partition {partition!r} does not exist on this cluster; partitions: {', '.join(sorted(set(listing))) or '(none)'}."
        " Set `partition` in the preset or pass --partition."
    )


def check_cluster(partitions: list[str], dry_run: bool) -> None:
    """Fail before submission (and before any GPU time) on what sbatch would reject later."""
    if shutil.which("sbatch") is None:
        if dry_run:
            logger.warning("sbatch not found: printing the script only, nothing could be submitted from here")
            return
        raise SlurmPresetError(
            "sbatch not found on PATH: run from a SLURM login node (or use --executor local); "
            "--dry-run prints the sbatch script without submitting"
        )
    for partition in dict.fromkeys(partitions):
        try:
            check_partition(partition)
        except SlurmPresetError as e:
            if not dry_run:
                raise
            logger.warning(f"{e} (dry run: printing the script anyway)")


# ---------------------------------------------------------------------------------------------
# preset -> executor arguments


def env_command(preset: dict) -> str:
    """Shell lines that make the job see the same software: modules, then venv or conda, then env."""
    lines = []
    if preset.get("modules"):
        lines.append("module load " + " ".join(preset["modules"]))
    venv = preset.get("venv")
    if venv == "auto":
        # the interpreter launching the run: its bin/ holds python, launch_pickled_pipeline, merge_stats
        lines.append(f"export VIRTUAL_ENV={sys.prefix} PATH={Path(sys.executable).parent}:$PATH")
    elif venv:
        lines.append(f"source {Path(venv).expanduser()}/bin/activate")
    if preset.get("conda_env"):
        lines.append(f'eval "$(conda shell.bash hook)" && conda activate {preset["conda_env"]}')
    if preset.get("hf_home"):
        lines.append(f"export HF_HOME={preset['hf_home']}")
    for key, value in (preset.get("env") or {}).items():
        lines.append(f"export {key}={json.dumps(str(value))}")
    if preset.get("env_command"):
        lines.append(preset["env_command"])
    # datatrove's template puts the first line after its own indentation; keep ours flat
    return "\n".join(lines)


def executor_kwargs(preset: dict, tasks: int, workers: int, logging_dir: str, job_name: str) -> dict:
    missing = [key for key in SLURM_REQUIRED if not preset.get(key)]
    if missing:
        raise SlurmPresetError(
            f"SLURM preset needs {', '.join(missing)} (in the preset or on the command line)"
        )
    max_array = preset.get("max_array_size", "auto")
    max_array = cluster_max_array_size() if max_array == "auto" else int(max_array)
    sbatch_args = {"kill-on-invalid-dep": "yes"}
    if preset.get("signal"):
        sbatch_args["signal"] = preset["signal"]
    sbatch_args |= preset.get("sbatch_args") or {}
    return dict(
        tasks=tasks,
        workers=workers,
        time=preset["time"],
        partition=preset["partition"],
        qos=preset.get("qos", ""),
        cpus_per_task=preset.get("cpus_per_task", 1),
        mem_per_cpu_gb=preset.get("mem_per_cpu_gb", 2),
        gpus_per_task=preset.get("gpus_per_task", 0),
        job_name=preset.get("job_name") or job_name,
        env_command=env_command(preset) or None,
        sbatch_args=sbatch_args,
        srun_args=preset.get("srun_args"),
        with_srun=preset.get("with_srun", True),
        max_array_size=max_array,
        tasks_per_job=preset.get("tasks_per_job", 1),
        requeue=preset.get("requeue", True),
        requeue_signals=tuple(preset.get("requeue_signals", ("SIGUSR1",))) or None,
        mail_user=preset.get("mail_user"),
        mail_type=preset.get("mail_type", "ALL"),
        randomize_start_duration=preset.get("randomize_start_duration", 0),
        logging_dir=logging_dir,
    )


def make_slurm_executor(
    steps, opts, *, preset: dict | None = None, tasks=None, workers=None, logging_dir=None, **extra
):
    """One stage's executor. Command-line options (opts.overrides, --tasks, --workers) win over the preset."""
    preset = dict(preset if preset is not None else opts.preset) | opts.overrides
    check_preset_keys(preset, opts.executor)
    kwargs = executor_kwargs(
        preset,
        tasks=tasks or opts.tasks,
        workers=workers or opts.cli_workers or preset.get("workers", -1),
        logging_dir=logging_dir or opts.logging_dir,
        job_name=f"cosmo-{Path(opts.output).name}",
    )
    kwargs |= extra
    return CosmoSlurmExecutor(steps, **kwargs)


def submit(executors: list[tuple[str, CosmoSlurmExecutor]], opts, record_path: str | None) -> None:
    """Submit stages in order; each later stage waits (afterok) on every array job of the previous one.

    Stages whose tasks are all complete are skipped (datatrove's completion markers), so running the
    same command again resubmits only what is unfinished.
    """
    check_cluster([ex.partition for _, ex in executors], opts.dry_run)
    previous, previous_name = None, None
    record = {"executor": "slurm", "submitted_at": time.time(), "stages": []}
    for name, ex in executors:
        if previous is not None and previous.job_ids:
            ex.depends_job_id = ":".join(previous.job_ids)
        if opts.dry_run:
            chunks = ex.array_jobs()
            if not chunks:
                print(f"# stage {name}: all {ex.tasks} tasks complete, nothing to submit")
            else:
                dep = f" --dependency=afterok:<jobs of stage {previous_name}>" if previous is not None else ""
                print(
                    f"# stage {name}: {len(chunks)} array job(s) ({', '.join(c[0] for c in chunks)}), "
                    f"{sum(c[1] for c in chunks)} array tasks of {ex.tasks}; each submitted as\n"
                    f"#   sbatch --export=ALL,RUN_OFFSET=<i>{dep} <this script>"
                )
                print(ex.dry_run_script())
        else:
            ex.launch_job()
            if not ex.job_ids:
                logger.info(f"stage {name}: all {ex.tasks} tasks already complete")
            else:
                logger.info(f"stage {name}: submitted array job(s) {', '.join(ex.job_ids)}")
        record["stages"].append(
            {
                "name": name,
                "logging_dir": ex.logging_dir.path,
                "tasks": ex.tasks,
                "job_ids": ex.job_ids,
                "max_array_size": ex.max_array_size,
                "tasks_per_job": ex.tasks_per_job,
                "depends_on": ex.depends_job_id,
            }
        )
        previous, previous_name = ex, name
    if record_path and not opts.dry_run:
        os.makedirs(os.path.dirname(record_path), exist_ok=True)
        with open(record_path, "w") as f:
            json.dump(record, f, indent=2)
