"""What Ray costs against the local executor: the same 4-task quickstart, side by side, one run each.

    python benchmarks/ray_overhead.py --output DIR [--model tiny] [--modes local,ray,ray-private]

Every mode runs `cosmo run quickstart --tasks 4 --workers 2` with the same model and the same engine
settings (a 1 GiB KV cache per engine, as the `ray-local` preset sets), in its own output folder:

- local:       `--executor local`, datatrove's LocalPipelineExecutor (a process pool);
- ray:         `--executor ray-local` on a Ray cluster started beforehand on this machine
               (`ray start --head`, its start timed apart), through RAY_ADDRESS;
- ray-private: `--executor ray-local` without RAY_ADDRESS: the run starts its own Ray instance.

Printed per mode: wall time of the command, the first task's start latency (command launched →
first line of a task log: imports, building the pipeline, connecting, scheduling), the slot handover
(a task of the second wave starts this long after the task whose slot it takes completed), the
engine start and generation times the tasks report, and documents written.
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from cosmo_blocks.run.summary import first_log_time

TASKS, WORKERS = 4, 2
ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "PYTHONUNBUFFERED": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_cluster(root: Path) -> tuple[subprocess.Popen, str, float]:
    """A head on this machine in its own process group (stopped with it, never with `ray stop`)."""
    port, start = free_port(), time.perf_counter()
    ray = Path(sys.executable).parent / "ray"
    head = subprocess.Popen(
        [ray, "start", "--head", "--block", f"--port={port}", "--node-ip-address=127.0.0.1",
         f"--num-cpus={os.cpu_count()}", "--include-dashboard=false", "--disable-usage-stats",
         "--object-store-memory=268435456", f"--temp-dir={root}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        env=os.environ | {"RAY_process_group_cleanup_enabled": "true", "RAY_AUTH_MODE": "disabled"},
    )  # fmt: skip
    address = f"127.0.0.1:{port}"
    while subprocess.run([ray, "status", f"--address={address}"], capture_output=True).returncode:
        if time.perf_counter() - start > 120:
            stop_cluster(head)
            raise RuntimeError(f"the Ray head did not come up in 120 s; its log: {root}/session_latest/logs")
        time.sleep(0.5)
    return head, address, time.perf_counter() - start


def stop_cluster(head: subprocess.Popen) -> None:
    os.killpg(head.pid, signal.SIGTERM)
    try:
        head.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(head.pid, signal.SIGKILL)


def run(mode: str, out: Path, model: str, address: str | None) -> dict:
    executor = "local" if mode == "local" else "ray-local"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | ENV
    if address:
        env["RAY_ADDRESS"] = address
    command = [sys.executable, "-m", "cosmo_blocks.cli", "run", "quickstart", "--executor", executor,
               "--tasks", str(TASKS), "--workers", str(WORKERS), "--model", model, "--output", str(out)]  # fmt: skip
    launched = time.time()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.time() - launched
    if result.returncode:
        raise RuntimeError(f"{mode} failed:\n{result.stderr[-3000:]}")
    return measure(out / "logs", launched, wall)


def measure(logs: Path, launched: float, wall: float) -> dict:
    starts = sorted(t for p in logs.glob("logs/task_*.log") if (t := first_log_time(p)))
    done = sorted(p.stat().st_mtime for p in logs.glob("completions/*"))
    handover = [start - done[i] for i, start in enumerate(starts[WORKERS:])]
    summary = orjson.loads((logs / "summary.json").read_bytes())
    return {
        "wall": wall,
        "first_start": starts[0] - launched,
        "handover": statistics.mean(handover) if handover else float("nan"),
        "engine_start": summary.get("engine_start_seconds"),
        "generation": summary.get("generation_seconds"),
        "kept": summary.get("kept"),
        "generated": summary.get("generated"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", required=True)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--modes", default="local,ray,ray-private")
    args = parser.parse_args()
    root = Path(args.output)
    shutil.rmtree(root, ignore_errors=True)
    results, head_start = {}, None
    for mode in args.modes.split(","):
        head = address = None
        if mode == "ray":
            head, address, head_start = start_cluster(Path(tempfile.mkdtemp(prefix="ray", dir="/tmp")))
        try:
            results[mode] = run(mode, root / mode, args.model, address)
        finally:
            if head:
                stop_cluster(head)
        print(f"{mode}: {results[mode]}", flush=True)
    print(f"\n{TASKS} tasks, {WORKERS} at once, model {args.model}, {os.cpu_count()} cores")
    if head_start is not None:
        print(f"ray start --head until `ray status` answers: {head_start:.1f} s (not in the ray row)")
    print(
        "| executor | wall s | first task starts after s | slot handover s | engine start s (sum) | generation s (sum) | generated | kept |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for mode, r in results.items():
        print(f"| {mode} | {r['wall']:.1f} | {r['first_start']:.1f} | {r['handover']:.1f} | {r['engine_start']} | "
              f"{r['generation']} | {r['generated']} | {r['kept']} |")  # fmt: skip


if __name__ == "__main__":
    main()
