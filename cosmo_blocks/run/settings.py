"""Executor presets: one typed schema for every executor kind, checked before anything runs.

A preset is a TOML file in executors/ (`local`, `slurm`, `slurm-cpu`, `ray`, ...) or any .toml path; the
command line overrides its fields (`--tasks`, `--workers`, `--partition`, `--time`, `--qos` and
`--set key=value`). Every value is checked against `ExecutorSettings`: an unknown key, a value of
the wrong type, or a field that means nothing for the preset's executor kind is a ConfigError.
"""

import difflib
import tomllib
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path

from cosmo_blocks.errors import ConfigError
from cosmo_blocks.resources import bundled_dir

KINDS = ("local", "slurm", "ray")
SLURM = ("slurm",)
RAY = ("ray",)
CLUSTER = ("slurm", "ray")


def _field(default, help: str, kinds: tuple = KINDS):
    factory = {"default_factory": lambda: type(default)(default)} if isinstance(default, list | dict) else {}
    return field(**(factory or {"default": default}), metadata={"help": help, "kinds": kinds})


@dataclass(frozen=True)
class ExecutorSettings:
    """Where and how tasks run. Each field names the executor kinds it means something to."""

    executor: str = _field("local", "executor kind: " + " or ".join(KINDS))
    description: str = _field("", "free text")
    tasks: int = _field(1, "number of datatrove tasks (shards)")
    workers: int = _field(
        -1, "tasks running at once (local: worker processes; SLURM: array throttle %N; Ray: actors); -1: all"
    )
    gpus_per_task: int = _field(
        0, "GPUs per task; the engine's tensor-parallel size (SLURM and Ray also reserve them)"
    )
    randomize_start_duration: int = _field(0, "seconds of random delay before each task starts")
    partition: str = _field("", "SLURM partition (checked with scontrol before submission)", SLURM)
    qos: str = _field("", "SLURM QoS ('' for none)", SLURM)
    time: str = _field("", "SLURM time limit per task, e.g. '24:00:00'", SLURM)
    cpus_per_task: int = _field(1, "CPUs per task", CLUSTER)
    mem_per_cpu_gb: int = _field(2, "memory per CPU in GB", CLUSTER)
    job_name: str = _field("", "SLURM job name (default: cosmo-<output folder name>)", SLURM)
    requeue: bool = _field(True, "requeue the task when it is preempted or its node fails", SLURM)
    requeue_signals: list[str] = _field(["SIGUSR1"], "signals on which a task requeues itself", SLURM)
    signal: str = _field("", "sbatch --signal, e.g. 'USR1@120' (warning before preemption)", SLURM)
    max_array_size: int | str = _field("auto", "largest array SLURM accepts; 'auto' asks scontrol", SLURM)
    tasks_per_job: int = _field(
        1, "datatrove tasks run one after another by one array element (SLURM) or actor (Ray)", CLUSTER
    )
    venv: str = _field("", "virtualenv to activate in the job; 'auto': the one launching the run", SLURM)
    conda_env: str = _field("", "conda environment to activate in the job", SLURM)
    modules: list[str] = _field([], "environment modules to `module load` in the job", SLURM)
    env_command: str = _field("", "extra shell lines run before the task", SLURM)
    hf_home: str = _field("", "HF_HOME for the tasks (model cache on a shared filesystem)", CLUSTER)
    env: dict = _field({}, "table of environment variables exported in the job", CLUSTER)
    sbatch_args: dict = _field({}, "table of extra sbatch options, e.g. {account = 'x'}", SLURM)
    srun_args: dict = _field({}, "table of extra srun options", SLURM)
    with_srun: bool = _field(True, "run the task under srun", SLURM)
    mail_user: str = _field("", "address for SLURM mail", SLURM)
    mail_type: str = _field("ALL", "SLURM mail types", SLURM)
    address: str = _field(
        "",
        "Ray cluster: HOST:PORT of its head; '' RAY_ADDRESS; 'auto' RAY_ADDRESS or the cluster started on "
        "this machine; 'local' a private one on this machine for this run",
        RAY,
    )
    forward_env: list[str] = _field(
        ["PYTHONPATH", "HF_HOME", "HF_TOKEN", "OPENAI_API_KEY"],
        "variables of the launching shell the Ray tasks get (when set there)",
        RAY,
    )
    check_resources: bool = _field(
        True, "fail before the run when no Ray node can hold one task (false on autoscaling clusters)", RAY
    )


FIELDS = {f.name: f for f in fields(ExecutorSettings)}
TYPE_NAMES = {int: "an integer", str: "a string", bool: "true or false", dict: "a table"}


def presets_dir() -> Path:
    return bundled_dir("executors")


def preset_names() -> list[str]:
    return sorted(p.stem for p in presets_dir().glob("*.toml"))


def type_name(tp) -> str:
    if typing.get_origin(tp) is list:
        return f"a list of {type_name(typing.get_args(tp)[0])[2:]}s"
    if isinstance(tp, types.UnionType):
        return " or ".join(type_name(t) for t in typing.get_args(tp))
    return TYPE_NAMES[tp]


def matches(value, tp) -> bool:
    if isinstance(tp, types.UnionType):
        return any(matches(value, t) for t in typing.get_args(tp))
    if typing.get_origin(tp) is list:
        return isinstance(value, list) and all(matches(v, typing.get_args(tp)[0]) for v in value)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp)


def check_values(values: dict, kind: str, where) -> None:
    """Each key known, each value of its field's type and meaningful for `kind`.

    `where(key)` names the source of a value in messages: a preset file, `--set key`, `--partition`.
    """
    for key, value in values.items():
        if key not in FIELDS:
            close = difflib.get_close_matches(key, FIELDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"{where(key)}: unknown key {key!r}{hint}; known keys: {', '.join(sorted(FIELDS))}"
            )
        spec = FIELDS[key]
        if not matches(value, spec.type):
            raise ConfigError(f"{where(key)}: {key} must be {type_name(spec.type)}, got {value!r}")
        if kind not in spec.metadata["kinds"]:
            raise ConfigError(
                f"{where(key)}: {key} applies to {' and '.join(spec.metadata['kinds'])} executors only; "
                f"this run uses the {kind} executor"
            )
    if values.get("executor", kind) not in KINDS:
        raise ConfigError(f"{where('executor')}: executor must be one of {', '.join(KINDS)}")
    for key in ("tasks", "tasks_per_job"):
        if key in values and values[key] < 1:
            raise ConfigError(f"{where(key)}: {key} must be at least 1, got {values[key]}")
    if "workers" in values and values["workers"] < 1 and values["workers"] != -1:
        raise ConfigError(f"{where('workers')}: workers must be at least 1 (or -1: all at once)")
    if values.get("max_array_size", "auto") != "auto" and not isinstance(values["max_array_size"], int):
        raise ConfigError(f"{where('max_array_size')}: max_array_size must be an integer or 'auto'")


def preset_path(name: str) -> Path:
    path = Path(name).expanduser() if name.endswith(".toml") else presets_dir() / f"{name}.toml"
    if not path.is_file():
        raise ConfigError(
            f"unknown executor preset {name!r}; known presets: {', '.join(preset_names())} (or a .toml path)"
        )
    return path


def load_preset(name: str) -> dict:
    """The checked fields of preset `name` (a name in executors/ or a .toml path), `executor` set."""
    path = preset_path(name)
    try:
        values = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"executor preset {str(path)!r}: invalid TOML: {e}") from None
    values.setdefault("executor", next((k for k in CLUSTER if path.stem.startswith(k)), "local"))
    kind = values["executor"] if values["executor"] in KINDS else "local"
    check_values(values, kind, lambda key: f"executor preset {str(path)!r}")
    return values


def parse_set(items, option: str = "--set") -> dict:
    """`--set key=value` pairs; values are TOML (numbers, true/false, "strings"), else plain strings."""
    parsed = {}
    for item in items or ():
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option} expects key=value, got {item!r}")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        parsed[key.strip()] = value
    return parsed
