"""Every bundled pipeline builds from its options without an engine, and its executor serializes."""

import json
from pathlib import Path

import pytest

from cosmo_blocks.errors import ConfigError
from cosmo_blocks.resources import bundled_dir, find_pipeline
from cosmo_blocks.run import RunOptions, adapter_for, load_build
from cosmo_blocks.run.stages import plan_stages

PIPELINES = sorted(bundled_dir("pipelines").glob("*.py"))
# what a pipeline needs besides --seeds
PARAMS = {"mix": ("synthetic={seeds}",), "subset": ("format=blogpost",)}


@pytest.mark.parametrize("script", PIPELINES, ids=lambda p: p.stem)
def test_pipeline_builds(script, tmp_path, sample_seeds):
    params = tuple(p.format(seeds=sample_seeds) for p in PARAMS.get(script.stem, ()))
    opts = RunOptions(
        seeds=str(sample_seeds),
        output=str(tmp_path),
        model="mistralai/Mixtral-8x7B-Instruct-v0.1",
        params=params,
    )
    stages = plan_stages(load_build(script)(opts), opts)
    adapter = adapter_for(opts)
    adapter.prepare(stages)
    (_, executor), *_ = adapter.executors
    executor.save_executor_as_json()  # what datatrove does before running
    saved = json.loads((Path(stages[0].logging_dir) / "executor.json").read_text())
    assert len(saved["pipeline"]) == len(stages[0].steps)


def generator_of(name: str, **options):
    opts = RunOptions(output="unused", **options)
    built = load_build(find_pipeline(name))(opts)
    steps = [step for item in built for step in getattr(item, "steps", [item])]  # steps or Stages
    (generator,) = [step for step in steps if hasattr(step, "engine_kwargs")]
    return generator


@pytest.mark.parametrize("name", ["quickstart", "cosmopedia"])
def test_tensor_parallel_size_follows_gpus_per_task(name, sample_seeds):
    seeds = str(sample_seeds)
    assert generator_of(name, seeds=seeds, executor="slurm").engine_kwargs["tensor_parallel_size"] == 2
    one_gpu = generator_of(name, seeds=seeds, executor="slurm", sets=("gpus_per_task=1",))
    assert one_gpu.engine_kwargs["tensor_parallel_size"] == 1
    four = generator_of(name, seeds=seeds, sets=("gpus_per_task=4",))  # a local machine with 4 GPUs
    assert four.engine_kwargs["tensor_parallel_size"] == 4
    assert generator_of(name, seeds=seeds, tensor_parallel=2).engine_kwargs["tensor_parallel_size"] == 2


@pytest.mark.parametrize("name", ["quickstart", "cosmopedia"])
def test_default_model_is_left_to_the_task_host(name, sample_seeds):
    assert generator_of(name, seeds=str(sample_seeds)).model is None
    assert generator_of(name, seeds=str(sample_seeds), model="org/model").model == "org/model"


def test_cosmopedia_recipe_needs_seeds(tmp_path):
    build = load_build(find_pipeline("cosmopedia"))
    with pytest.raises(ConfigError, match="needs --seeds"):
        build(RunOptions(output=str(tmp_path)))


def test_no_pipeline_shadows_a_standard_library_module():
    # `python pipelines/NAME.py` puts pipelines/ first on sys.path: a pipelines/select.py would be
    # imported by every script in place of the standard library's select
    import sys

    assert not {script.stem for script in PIPELINES} & sys.stdlib_module_names
