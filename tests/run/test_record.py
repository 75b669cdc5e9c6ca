"""The run record: written and read back by one owner, in the format `cosmo status` always read."""

import json

from cosmo_blocks.run.record import RECORD_FILE, RunRecord, StageRecord


def test_round_trip_and_on_disk_format(tmp_path):
    record = RunRecord(
        "slurm",
        1764240000.5,
        [
            StageRecord("generate", str(tmp_path / "generate"), 5, ["11", "12"], 3, 1, None),
            StageRecord("stats", str(tmp_path / "stats"), 1, ["13"], 1001, 1, "11:12"),
        ],
    )
    record.write(tmp_path)
    on_disk = json.loads((tmp_path / RECORD_FILE).read_text())
    assert on_disk == {
        "executor": "slurm",
        "submitted_at": 1764240000.5,
        "stages": [
            {
                "name": "generate",
                "logging_dir": str(tmp_path / "generate"),
                "tasks": 5,
                "job_ids": ["11", "12"],
                "max_array_size": 3,
                "tasks_per_job": 1,
                "depends_on": None,
            },
            {
                "name": "stats",
                "logging_dir": str(tmp_path / "stats"),
                "tasks": 1,
                "job_ids": ["13"],
                "max_array_size": 1001,
                "tasks_per_job": 1,
                "depends_on": "11:12",
            },
        ],
        "driver": {},
    }
    assert RunRecord.read(tmp_path) == record
    assert RunRecord.read(tmp_path / "elsewhere") is None


def test_numeric_job_ids_from_older_records_read_as_strings(tmp_path):
    (tmp_path / RECORD_FILE).write_text(
        json.dumps(
            {
                "executor": "slurm",
                "submitted_at": 1.0,
                "stages": [{"name": "main", "logging_dir": "x", "tasks": 2, "job_ids": [7]}],
            }
        )
    )
    old = RunRecord.read(tmp_path)
    assert old.stages[0].job_ids == ["7"]
    assert old.driver == {} and old.driver_alive() is None  # no driver recorded: status cannot tell


def test_array_elements_map_to_ranks_as_datatrove_runs_them():
    # 7 ranks left to run, 2 per array element, at most 2 elements per array: jobs a (elements 0, 1)
    # and b (element 0 = RUN_OFFSET 1 -> elements 2, 3 overall)
    stage = StageRecord("main", "x", 10, ["a", "b"], max_array_size=2, tasks_per_job=2)
    ranks = [0, 2, 3, 5, 6, 8, 9]
    assert stage.ranks_by_array_task(ranks) == {
        ("a", 0): [0, 2],
        ("a", 1): [3, 5],
        ("b", 0): [6, 8],
        ("b", 1): [9],
    }
