"""RunOptions: what one run is asked to do, checked and typed before anything is built or started.

The command line (or a caller) gives the raw options; `RunOptions` merges the executor preset with
them (preset < `--set` < `--tasks`/`--workers`/`--partition`/`--time`/`--qos`), checks every value
against `ExecutorSettings`, and is what `build(opts)` receives.
"""

from dataclasses import dataclass, field

from cosmo_blocks.errors import ConfigError
from cosmo_blocks.run.settings import ExecutorSettings, check_values, load_preset, parse_set

# options that become preset fields, named as the command line spells them
FIELD_OPTIONS = {
    "tasks": "--tasks",
    "workers": "--workers",
    "partition": "--partition",
    "time": "--time",
    "qos": "--qos",
}
DEFAULT_MODEL_NOTE = (
    "default (resolved on each task's host: Mixtral-8x7B-Instruct with a GPU, SmolLM2-135M-Instruct without)"
)


@dataclass
class RunOptions:
    seeds: str | None = None
    output: str | None = None
    logging_dir: str | None = None
    executor: str | None = None
    tasks: int | None = None
    workers: int | None = None
    limit: int | None = None
    model: str | None = None
    endpoint: str | None = None
    tensor_parallel: int | None = None
    dry_run: bool | None = None
    partition: str | None = None
    time: str | None = None
    qos: str | None = None
    sets: tuple = ()  # "key=value" (TOML value) for any preset field, e.g. gpus_per_task=1
    params: tuple = ()  # "key=value" (TOML value) for the pipeline's own knobs, read with opts.param()
    preset: dict = field(default_factory=dict, init=False)  # the preset file's checked fields
    overrides: dict = field(default_factory=dict, init=False)  # what the command line set
    settings: ExecutorSettings = field(default=None, init=False)  # the two merged
    given_params: dict = field(default_factory=dict, init=False)  # --param, parsed
    asked: dict = field(default_factory=dict, init=False)  # the params build(opts) asked for, with defaults

    def __post_init__(self):
        self.output = self.output or "output"
        self.logging_dir = self.logging_dir or f"{self.output.rstrip('/')}/logs"
        self.executor = self.executor or "local"
        self.limit = -1 if self.limit is None else self.limit
        self.dry_run = bool(self.dry_run)
        self.preset = load_preset(self.executor)
        kind = self.preset["executor"]
        sets = parse_set(self.sets)
        if "executor" in sets:
            raise ConfigError("--set executor: choose the executor preset with --executor")
        check_values(sets, kind, lambda key: f"--set {key}")
        given = {key: getattr(self, key) for key in FIELD_OPTIONS if getattr(self, key) is not None}
        check_values(given, kind, lambda key: FIELD_OPTIONS[key])
        self.overrides = sets | given
        self.settings = self.settings_for()
        self.given_params = parse_set(self.params, option="--param")
        self.tasks, self.workers = self.settings.tasks, self.settings.workers
        self._check_generation()

    def _check_generation(self):
        if self.endpoint and not self.model:
            raise ConfigError("--endpoint needs --model: the name the server serves the model under")
        if self.tensor_parallel is not None and self.tensor_parallel < 1:
            raise ConfigError(f"--tensor-parallel must be at least 1, got {self.tensor_parallel}")
        gpus = self.settings.gpus_per_task
        if self.kind != "local" and self.tensor_parallel and gpus and self.tensor_parallel > gpus:
            raise ConfigError(
                f"--tensor-parallel {self.tensor_parallel} needs {self.tensor_parallel} GPUs per task; the "
                f"preset gives {gpus}: add --set gpus_per_task={self.tensor_parallel}"
            )

    @property
    def kind(self) -> str:
        """The executor kind: local, slurm or ray."""
        return self.preset["executor"]

    def settings_for(self, preset: str | None = None) -> ExecutorSettings:
        """The run's settings, or a stage's own preset's (same executor kind only) with the overrides."""
        values = self.preset
        if preset is not None:
            stage_values = load_preset(preset)
            values = stage_values if stage_values["executor"] == self.kind else self.preset
        return ExecutorSettings(**(values | self.overrides))

    def param(self, name: str, default):
        """A knob of the pipeline (`--param name=value`), typed like its default: a pipeline script
        reads its own settings this way, and `--dry-run` lists them."""
        self.asked[name] = default
        if name not in self.given_params:
            return default
        value = self.given_params[name]
        expected = type(default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        wrong_type = not isinstance(value, expected) or isinstance(value, bool) != isinstance(default, bool)
        if default is not None and wrong_type:
            raise ConfigError(
                f"--param {name}={value!r}: expected {expected.__name__} like the default {default!r}"
            )
        return value

    def check_params(self) -> None:
        """After build(opts): a --param the pipeline never asked for is a typo, not a silent no-op."""
        unknown = sorted(set(self.given_params) - set(self.asked))
        if unknown:
            known = ", ".join(f"{k}={v!r}" for k, v in self.asked.items()) or "none"
            raise ConfigError(
                f"--param {', '.join(unknown)}: not a parameter of this pipeline (it takes: {known})"
            )

    @property
    def journal_dir(self) -> str:
        return f"{self.logging_dir}/journal"

    @property
    def tensor_parallel_size(self) -> int:
        """GPUs one engine spans: --tensor-parallel, else the preset's gpus_per_task (at least 1)."""
        return self.tensor_parallel or max(1, self.settings.gpus_per_task)

    @property
    def model_description(self) -> str:
        return self.model or DEFAULT_MODEL_NOTE

    def generator(self, sampling: str | dict | None = None, seed: int | None = None, **kwargs):
        """The generation block for this run: an in-process vLLM engine on the task's GPUs, or, with
        --endpoint, an OpenAI-compatible server (API key from OPENAI_API_KEY on the task's host)."""
        common = {"journal_dir": self.journal_dir, "seed": seed} | kwargs
        if sampling is not None:
            common["sampling"] = sampling
        if self.endpoint:
            from cosmo_blocks.generation.server import OpenAIServerGenerator

            return OpenAIServerGenerator(model=self.model, endpoint=self.endpoint, **common)
        from cosmo_blocks.generation import VLLMGenerator

        engine_kwargs = {"tensor_parallel_size": self.tensor_parallel_size} | common.pop("engine_kwargs", {})
        if self.kind == "ray" and engine_kwargs["tensor_parallel_size"] > 1:
            # in a Ray actor vLLM would place its workers through Ray, in a placement group that is not
            # the task's: the task's GPUs are already its own, so the engine spans them by processes
            engine_kwargs.setdefault("distributed_executor_backend", "mp")
        return VLLMGenerator(model=self.model, engine_kwargs=engine_kwargs, **common)
