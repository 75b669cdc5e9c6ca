"""Every bundled pipeline builds from its options without an engine, and its executor serializes."""

import json
from pathlib import Path

import pytest

from cosmo_blocks.run import load_build, make_executor, options_from

PIPELINES = sorted(Path(__file__).resolve().parents[2].glob("pipelines/*.py"))


@pytest.mark.parametrize("script", PIPELINES, ids=lambda p: p.stem)
def test_pipeline_builds(script, tmp_path, sample_seeds):
    opts = options_from(
        seeds=str(sample_seeds), output=str(tmp_path), model="mistralai/Mixtral-8x7B-Instruct-v0.1"
    )
    steps = load_build(script)(opts)
    assert steps
    make_executor(steps, opts).save_executor_as_json()  # what datatrove does before running
    saved = json.loads((Path(opts.logging_dir) / "executor.json").read_text())
    assert len(saved["pipeline"]) == len(steps)


def test_cosmopedia_recipe_needs_seeds(tmp_path):
    build = load_build(Path(__file__).resolve().parents[2] / "pipelines" / "cosmopedia.py")
    with pytest.raises(ValueError, match="needs --seeds"):
        build(options_from(output=str(tmp_path)))
