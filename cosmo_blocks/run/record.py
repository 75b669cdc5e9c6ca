"""The run record `cosmo_run.json`: what a submission sent where, for `cosmo status` to find it again.

Written once per submission into the run's logging folder, one entry per stage, in order:

    {"executor": "slurm", "submitted_at": 1764240000.0,
     "stages": [{"name": "main", "logging_dir": "out/logs", "tasks": 4, "job_ids": ["12", "13"],
                 "max_array_size": 1001, "tasks_per_job": 1, "depends_on": null}]}

A blocking run (local, Ray) also records its driver, `{"host": ..., "pid": ..., "start": ...}`, so that
`cosmo status` on the same host tells a running task from one whose command died.

A stage's tasks may be split over several array jobs (an array larger than the cluster's
MaxArraySize); datatrove numbers the elements of job `i` from `i * max_array_size` (RUN_OFFSET), and
each element runs `tasks_per_job` ranks of the stage's `ranks_to_run.json`.
"""

import os
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson
from datatrove.io import DataFolderLike, get_datafolder

RECORD_FILE = "cosmo_run.json"


def _folder(logging_dir: DataFolderLike | Path):
    return get_datafolder(str(logging_dir) if isinstance(logging_dir, Path) else logging_dir)


@dataclass
class StageRecord:
    name: str
    logging_dir: str
    tasks: int
    job_ids: list[str] = field(default_factory=list)
    max_array_size: int = 1001
    tasks_per_job: int = 1
    depends_on: str | None = None

    @classmethod
    def from_executor(cls, name: str, executor) -> "StageRecord":
        """The record of one submitted stage (a datatrove SLURM executor that kept its `job_ids`)."""
        return cls(
            name=name,
            logging_dir=executor.logging_dir.path,
            tasks=executor.tasks,
            job_ids=[str(j) for j in executor.job_ids],
            max_array_size=executor.max_array_size,
            tasks_per_job=executor.tasks_per_job,
            depends_on=executor.depends_job_id,
        )

    def ranks_by_array_task(self, ranks_to_run: list[int]) -> dict[tuple[str, int], list[int]]:
        """(job id, array index) -> the datatrove ranks that array element runs."""
        mapping = {}
        for offset, job in enumerate(self.job_ids):
            for index in range(self.max_array_size):
                first = (index + self.max_array_size * offset) * self.tasks_per_job
                if first >= len(ranks_to_run):
                    break
                mapping[(job, index)] = ranks_to_run[first : first + self.tasks_per_job]
        return mapping


def process_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), to tell it from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rpartition(b")")[2].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def this_driver() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid(), "start": process_start(os.getpid())}


@dataclass
class RunRecord:
    executor: str
    submitted_at: float
    stages: list[StageRecord] = field(default_factory=list)
    driver: dict = field(default_factory=dict)

    def driver_alive(self) -> bool | None:
        """Whether the command that runs a blocking run still does; None when unknown (a SLURM
        submission, another host, no /proc)."""
        if (
            not self.driver
            or self.driver.get("host") != socket.gethostname()
            or self.driver.get("start") is None
        ):
            return None
        return process_start(self.driver["pid"]) == self.driver["start"]

    def write(self, logging_dir: DataFolderLike | Path) -> None:
        with _folder(logging_dir).open(RECORD_FILE, "wb") as f:
            f.write(orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2))

    @classmethod
    def read(cls, logging_dir: DataFolderLike | Path) -> "RunRecord | None":
        """The record in `logging_dir`, or None when nothing was submitted from there."""
        folder = _folder(logging_dir)
        if not folder.isfile(RECORD_FILE):
            return None
        with folder.open(RECORD_FILE, "rb") as f:
            data = orjson.loads(f.read())
        stages = [
            StageRecord(**{k: v for k, v in stage.items() if k in StageRecord.__dataclass_fields__})
            for stage in data.get("stages", [])
        ]
        for stage in stages:
            stage.job_ids = [str(j) for j in stage.job_ids]
        return cls(
            executor=data.get("executor", "slurm"),
            submitted_at=data.get("submitted_at", 0.0),
            stages=stages,
            driver=data.get("driver", {}),
        )
