"""The dataset end as SLURM arrays on the live one-node cluster: `cosmo run dataset` over generated
records with planted copies and benchmark items (tests/pipelines/test_dataset_recipe.py), every stage
a job that waits for the one before: signatures and dedup as 2-task arrays over the 2 generated files,
one task per MinHash bucket, the clusters and the report as one task each."""

from pathlib import Path

import pytest

from cosmo_blocks.run.record import RunRecord
from tests.executors.conftest import cosmo, queue_empty, wait_for
from tests.pipelines.test_dataset_recipe import benchmarks_param, check_dataset, write_generated

pytestmark = pytest.mark.slurm


def test_dataset_end_as_slurm_arrays(slurm_cluster, tmp_path):
    planted = write_generated(tmp_path / "generated")
    out = tmp_path / "out"
    args = [
        "run",
        "dataset",
        "--executor",
        "slurm-local",
        "--tasks",
        "2",
        "--seeds",
        str(tmp_path / "generated"),
    ]
    result = cosmo(*args, "--output", str(out), "--param", benchmarks_param())
    assert result.returncode == 0, result.stderr
    stages = RunRecord.read(out / "logs").stages
    wait_for(
        lambda: queue_empty([job for stage in stages for job in stage.job_ids]), 600, "the dataset stages"
    )
    expected = {"signatures": 2, "buckets": 14, "clusters": 1, "dedup": 2, "report": 1}
    done = {stage.name: len(list((Path(stage.logging_dir) / "completions").glob("*"))) for stage in stages}
    assert done == expected, sorted((out / "logs").rglob("slurm_logs/*"))
    check_dataset(out, planted)
