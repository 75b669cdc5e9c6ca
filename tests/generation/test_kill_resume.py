"""kill -9 a running task's whole process group at random points, rerun: nothing lost, nothing twice.

The task (tests/generation/task.py) runs under datatrove's LocalPipelineExecutor in its own process
group, with the engine core in a child process; each run reads the prompts in another order. A random
kill point is a number of documents out of the block: there the task's main process SIGSTOPs itself
(the engine core runs on) and the test SIGKILLs the whole group.

The task gets no model: with no GPU visible it chooses the tiny stand-in itself, built under its own
HOME, as a task on a CPU host does.
"""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import psutil
import pytest

from tests.generation.gen_helpers import ENGINE_KWARGS, prompt_records, read_jsonl, write_jsonl

pytestmark = pytest.mark.engine

TASK = Path(__file__).with_name("task.py")
N = 150
KILLS = 2


def journal_ids(path: Path) -> list[str]:
    """Ids of the complete journal lines (a kill may tear the last one)."""
    if not path.is_file():
        return []
    ids = []
    for line in path.read_bytes().splitlines():
        try:
            ids.append(orjson.loads(line)["id"])
        except orjson.JSONDecodeError:
            pass
    return ids


def start_task(prompts: Path, out: Path, order_seed: int, stop_after: int = 0) -> subprocess.Popen:
    # the model by short name: each task resolves (and builds) it in its own HOME, on its host
    command = [sys.executable, str(TASK), "--prompts", str(prompts), "--out", str(out), "--model", "tiny"]
    # a few requests at a time, so completions stream in and a kill lands mid-run (with all 150 in one
    # batch they finish together and the journal jumps from 0 to 150)
    engine_kwargs = ENGINE_KWARGS | {"max_num_seqs": 16}
    command += ["--order-seed", str(order_seed), "--engine-kwargs", orjson.dumps(engine_kwargs).decode()]
    command += ["--stop-after", str(stop_after)]
    env = os.environ | {"HOME": str(out / "home"), "CUDA_VISIBLE_DEVICES": ""}
    log = open(out / f"run{order_seed}.log", "wb")  # noqa: SIM115  (the child writes it)
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL whatever is left of a task's process group (its engine core included)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def kill_group_when_stopped(proc: subprocess.Popen, timeout: float = 240) -> None:
    """SIGKILL the task's whole group once its main process has frozen itself at the kill point.

    Watching the journal from here instead raced on a loaded 2-core CI machine: short generations
    finish dozens at a time, and the journal ran from 12 to 124 between two polls. The engine core
    is not stopped: it is mid-generation when the group is killed.
    """
    deadline = time.monotonic() + timeout
    while psutil.Process(proc.pid).status() != psutil.STATUS_STOPPED:
        assert proc.poll() is None, f"task ended (rc={proc.returncode}) before the kill point"
        assert time.monotonic() < deadline, "the task did not reach the kill point"
        time.sleep(0.05)
    kill_group(proc)
    assert not live_group_members(proc.pid), "processes of the killed task are still running"


def live_group_members(pgid: int, wait: float = 5.0) -> list[int]:
    """Non-zombie processes still in the group after `wait` seconds (killed children may linger as zombies)."""
    deadline = time.monotonic() + wait
    while True:
        alive = []
        for p in psutil.process_iter(["status"]):
            try:
                if os.getpgid(p.pid) == pgid and p.info["status"] != psutil.STATUS_ZOMBIE:
                    alive.append(p.pid)
            except (ProcessLookupError, psutil.Error):
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


@pytest.fixture(scope="module")
def killed_and_rerun(tmp_path_factory):
    out = tmp_path_factory.mktemp("kill9")
    prompts = write_jsonl(out / "prompts.jsonl", prompt_records(N))
    journal = out / "logs" / "journal" / "00000.jsonl"
    rng = random.Random(int(os.environ.get("COSMO_KILL_SEED", "3")))
    journaled, kill_points, started = [], [], []
    try:
        for run in range(KILLS):
            # each kill at most 25 documents (+ one engine step's batch) further: the last leaves work to do
            target = len(journal_ids(journal)) + rng.randint(5, 25)
            started.append(start_task(prompts, out, run, stop_after=target))
            kill_group_when_stopped(started[-1])
            kill_points.append(target)
            journaled.append(len(journal_ids(journal)))
        started.append(start_task(prompts, out, 99))
        rc = started[-1].wait(timeout=300)
    finally:  # a failed assertion or a timeout must not leave a task or its engine running
        for proc in started:
            kill_group(proc)
    stats = orjson.loads((out / "logs" / "stats.json").read_bytes())
    block_stats = next(s["stats"] for s in stats if "vLLM" in s["name"])
    return {
        "out": out,
        "rc": rc,
        "journaled": journaled,
        "kill_points": kill_points,  # documents out of the block when the task froze for its kill
        "stats": block_stats,
        "journal": journal,
    }


def test_rerun_completes(killed_and_rerun):
    log = (killed_and_rerun["out"] / "run99.log").read_text()[-3000:]
    assert killed_and_rerun["rc"] == 0, log
    assert killed_and_rerun["journaled"] == sorted(set(killed_and_rerun["journaled"])), (
        "no progress between kills"
    )
    assert killed_and_rerun["journaled"][-1] < N, (
        f"the last kill came after everything was generated: kill points {killed_and_rerun['kill_points']}"
    )


def test_every_prompt_exactly_once_in_the_output(killed_and_rerun):
    records = read_jsonl(killed_and_rerun["out"] / "data" / "00000.jsonl")
    assert sorted(r["id"] for r in records) == sorted(r["id"] for r in prompt_records(N))
    entries = {e["id"]: e for e in map(orjson.loads, killed_and_rerun["journal"].read_bytes().splitlines())}
    for record in records:
        assert record["text"] == entries[record["id"]]["text"]


def test_nothing_journaled_is_generated_again(killed_and_rerun):
    ids = journal_ids(killed_and_rerun["journal"])
    assert len(ids) == len(set(ids)) == N
    stats = killed_and_rerun["stats"]
    assert stats["resumed_from_journal"] == killed_and_rerun["journaled"][-1]
    assert stats.get("generated", 0) == N - killed_and_rerun["journaled"][-1]


def test_each_task_chose_the_tiny_model_on_its_host_and_says_so(killed_and_rerun):
    """The model given by short name: every run resolved it in its own HOME, logged it, and the
    documents name it (the journal keys matched across runs, so the resume above used it too)."""
    out = killed_and_rerun["out"]
    tiny = out / "home" / ".cache" / "cosmo-blocks" / "tiny-mixtral"
    for run in [*range(KILLS), 99]:
        log = (out / f"run{run}.log").read_text()
        assert f"generating with model {tiny}, sampling" in log, run
    records = read_jsonl(out / "data" / "00000.jsonl")
    assert {r["metadata"]["model"] for r in records} == {str(tiny)}
