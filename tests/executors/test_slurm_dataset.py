"""The dataset end and the mix as SLURM arrays on the live one-node cluster, over generated records
with planted copies and benchmark items (tests/pipelines/test_dataset_recipe.py): every stage a job
that waits for the one before; signatures and dedup as 2-task arrays over the 2 generated files, one
task per MinHash bucket, the clusters and the report as one task each; the mix as one 2-task array."""

from pathlib import Path

import pytest

from cosmo_blocks.run.record import RunRecord
from tests.executors.conftest import cosmo, queue_empty, wait_for
from tests.pipelines.test_dataset_recipe import (
    benchmarks_param,
    check_dataset,
    check_mix,
    split_real,
    write_generated,
)
from tests.topics.conftest import debian_builder, debian_corpus, debian_corpus_records  # noqa: F401

pytestmark = pytest.mark.slurm


def run_array(pipeline: str, seeds: Path, out: Path, *params: str) -> dict:
    """Submit a recipe as 2-task arrays, wait until every stage has left the queue: tasks done per stage."""
    args = ["run", pipeline, "--executor", "slurm-local", "--tasks", "2", "--seeds", str(seeds)]
    result = cosmo(*args, "--output", str(out), *params)
    assert result.returncode == 0, result.stderr
    stages = RunRecord.read(out / "logs").stages
    jobs = [job for stage in stages for job in stage.job_ids]
    wait_for(lambda: queue_empty(jobs), 600, f"the {pipeline} stages")
    return {stage.name: len(list((Path(stage.logging_dir) / "completions").glob("*"))) for stage in stages}


def test_dataset_end_as_slurm_arrays(slurm_cluster, tmp_path):
    planted = write_generated(tmp_path / "generated")
    out = tmp_path / "out"
    done = run_array("dataset", tmp_path / "generated", out, "--param", benchmarks_param())
    expected = {"signatures": 2, "buckets": 14, "clusters": 1, "dedup": 2, "report": 1}
    assert done == expected, sorted((out / "logs").rglob("slurm_logs/*"))
    check_dataset(out, planted)


def test_mix_as_a_slurm_array(slurm_cluster, debian_corpus_records, tmp_path):  # noqa: F811
    write_generated(tmp_path / "generated")
    real = split_real(debian_corpus_records, tmp_path / "real")
    synthetic = f"synthetic={tmp_path / 'generated'}"
    params = ["--param", synthetic, "--param", "alpha=0.3", "--param", "real_name=debian"]
    assert run_array("mix", real, tmp_path / "mixed", *params) == {"main": 2}
    check_mix(tmp_path / "mixed", 0.3)
