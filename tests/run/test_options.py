"""RunOptions: presets merged with the command line and checked against one schema, before anything runs."""

import pytest

from cosmo_blocks.errors import ConfigError
from cosmo_blocks.run import RunOptions


def opts(**kwargs) -> RunOptions:
    return RunOptions(output="unused-output", **kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sets": ("tasks=abc",)}, "--set tasks: tasks must be an integer, got 'abc'"),
        (
            {"sets": ("requeue=1",), "executor": "slurm"},
            "--set requeue: requeue must be true or false, got 1",
        ),
        ({"sets": ("modules=3",), "executor": "slurm"}, "modules must be a list of strings, got 3"),
        ({"sets": ("gpus_per_tsak=2",)}, "unknown key 'gpus_per_tsak' (did you mean 'gpus_per_task'?)"),
        ({"sets": ("tasks",)}, "--set expects key=value, got 'tasks'"),
        ({"sets": ("executor='slurm'",)}, "--set executor: choose the executor preset with --executor"),
        ({"sets": ("tasks=0",)}, "--set tasks: tasks must be at least 1, got 0"),
        ({"workers": 0}, "--workers: workers must be at least 1 (or -1: all at once)"),
        (
            {"partition": "gpu"},
            "--partition: partition applies to slurm executors only; this run uses the local",
        ),
        ({"time": "1:00:00"}, "--time: time applies to slurm executors only"),
        (
            {"sets": ("cpus_per_task=4",)},
            "--set cpus_per_task: cpus_per_task applies to slurm and ray executors only",
        ),
        ({"executor": "nosuch"}, "unknown executor preset 'nosuch'; known presets: local, ray, ray-cpu"),
        (
            {"executor": "slurm", "sets": ("address='h:1'",)},
            "--set address: address applies to ray executors only; this run uses the slurm executor",
        ),
        (
            {"executor": "ray-local", "partition": "gpu"},
            "--partition: partition applies to slurm executors only",
        ),
        ({"endpoint": "http://localhost:1"}, "--endpoint needs --model"),
        (
            {"executor": "slurm", "tensor_parallel": 4},
            "--tensor-parallel 4 needs 4 GPUs per task; the preset gives 2",
        ),
    ],
)
def test_configuration_mistakes_are_config_errors(kwargs, message):
    with pytest.raises(ConfigError) as caught:
        opts(**kwargs)
    assert message in str(caught.value)


def test_preset_files_are_checked_against_the_schema(tmp_path):
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("tasks = [\n")
    with pytest.raises(ConfigError, match="bad.toml'.*invalid TOML"):
        opts(executor=str(bad_toml))
    wrong_type = tmp_path / "slurm-mine.toml"
    wrong_type.write_text('partition = "gpu"\ntime = "1:00:00"\ngpus_per_task = "two"\n')
    with pytest.raises(ConfigError, match="slurm-mine.toml'.*gpus_per_task must be an integer, got 'two'"):
        opts(executor=str(wrong_type))
    local_with_slurm_key = tmp_path / "mine.toml"
    local_with_slurm_key.write_text('executor = "local"\nqos = "high"\n')
    with pytest.raises(ConfigError, match="qos applies to slurm executors only"):
        opts(executor=str(local_with_slurm_key))


def test_precedence_preset_then_set_then_options():
    slurm = opts(executor="slurm")
    assert (slurm.tasks, slurm.settings.partition, slurm.settings.time) == (1000, "gpu", "24:00:00")
    overridden = opts(executor="slurm", sets=("tasks=10", "partition='h100'", "time=1:00:00"), tasks=20)
    assert (overridden.tasks, overridden.settings.partition, overridden.settings.time) == (
        20,
        "h100",
        "1:00:00",
    )
    assert overridden.settings.cpus_per_task == 12  # untouched preset fields stay


def test_local_default_is_one_task_one_engine():
    local = opts()
    assert (local.kind, local.tasks, local.workers) == ("local", 1, 1)


def test_tensor_parallel_from_gpus_per_task_or_the_option():
    assert opts().tensor_parallel_size == 1
    assert opts(executor="slurm").tensor_parallel_size == 2
    assert opts(executor="slurm", sets=("gpus_per_task=1",)).tensor_parallel_size == 1
    assert opts(sets=("gpus_per_task=4",)).tensor_parallel_size == 4  # a local machine with 4 GPUs
    assert opts(tensor_parallel=2).tensor_parallel_size == 2


def test_generator_gets_model_and_tensor_parallelism_from_the_options(tiny_model):
    from cosmo_blocks.generation import VLLMGenerator
    from cosmo_blocks.generation.server import OpenAIServerGenerator

    generator = opts(executor="slurm", model=tiny_model).generator(sampling="cosmopedia", seed=3)
    assert isinstance(generator, VLLMGenerator)
    assert generator.model == tiny_model and generator.seed == 3
    assert generator.engine_kwargs["tensor_parallel_size"] == 2
    assert generator.journal_dir == "unused-output/logs/journal"
    default = opts().generator()
    assert default.model is None  # resolved on the host where the task runs, not here
    # in a Ray actor a tensor-parallel engine spans the task's GPUs with processes, not Ray workers
    assert "distributed_executor_backend" not in generator.engine_kwargs
    on_ray = opts(executor="ray", model=tiny_model).generator()
    assert on_ray.engine_kwargs == {"tensor_parallel_size": 2, "distributed_executor_backend": "mp"}
    served = opts(endpoint="http://localhost:8000", model="served-name").generator(seed=1)
    assert isinstance(served, OpenAIServerGenerator)
    assert (served.endpoint, served.model, served.seed) == ("http://localhost:8000", "served-name", 1)


def test_pipeline_params_are_typed_by_their_default_and_checked_after_build():
    given = opts(params=("pages=50", "ratio=1", "name=web", "deny=['sports']"))
    assert given.param("pages", 1000) == 50
    assert given.param("ratio", 0.5) == 1.0  # an integer where a float is expected
    assert given.param("name", "v1") == "web"
    assert given.param("deny", []) == ["sports"]
    assert given.param("untouched", 7) == 7
    given.check_params()
    with pytest.raises(ConfigError, match=r"--param pages='many': expected int like the default 1000"):
        opts(params=("pages='many'",)).param("pages", 1000)
    with pytest.raises(ConfigError, match="expected bool"):
        opts(params=("expand=1",)).param("expand", True)
    typo = opts(params=("pagse=5",))
    typo.param("pages", 1000)
    with pytest.raises(
        ConfigError, match=r"--param pagse: not a parameter of this pipeline \(it takes: pages=1000\)"
    ):
        typo.check_params()
