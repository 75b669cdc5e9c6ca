"""The cost of resume: kill -9 a generation task at ~50%, rerun it, count what was done twice.

    python benchmarks/resume.py [--prompts 1024] [--tokens 256] [--model DIR] [--out DIR]

The task (VLLMGenerator under LocalPipelineExecutor, journal + jsonl writer) runs in its own
process group; when its journal holds half the prompts the whole group gets SIGKILL (engine core
included). The rerun reads the prompts in another order. Reported: documents journaled before the
kill, requests in flight at the last progress line before it (the most that can be lost), documents
the rerun generated, documents generated twice (journaled before the kill and generated again), and
whether the output holds every prompt exactly once.
"""

import argparse
import importlib.util
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def generation_benchmark():
    spec = importlib.util.spec_from_file_location("cosmo_bench_generation", HERE / "generation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def child(args) -> None:
    from datatrove.data import Document
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.writers import JsonlWriter

    from cosmo_blocks.generation import VLLMGenerator

    bench = generation_benchmark()

    def read(data, rank=0, world_size=1):
        prompts = bench.load_prompts(args.prompts_file)
        random.Random(args.order_seed).shuffle(prompts)
        for doc_id, prompt in prompts:
            yield Document(text="", id=doc_id, metadata={"prompt": prompt})

    block = VLLMGenerator(
        args.model,
        sampling=bench.sampling(args.tokens),
        engine_kwargs=bench.ENGINE,
        journal_dir=f"{args.out}/task/logs/journal",
        progress_interval=0.5,
    )
    steps = [read, block, JsonlWriter(f"{args.out}/task/data", compression=None)]
    LocalPipelineExecutor(steps, tasks=1, workers=1, logging_dir=f"{args.out}/task/logs").run()


def journal_ids(path: Path) -> list[str]:
    ids = []
    if path.is_file():
        for line in path.read_bytes().splitlines():
            try:
                ids.append(json.loads(line)["id"])
            except json.JSONDecodeError:
                pass  # the line a kill tore
    return ids


def start(args, order_seed: int, log: Path) -> subprocess.Popen:
    command = [sys.executable, __file__, "--child", "--model", args.model, "--out", args.out]
    command += [
        "--tokens",
        str(args.tokens),
        "--prompts-file",
        str(args.prompts_file),
        "--order-seed",
        str(order_seed),
    ]
    with open(log, "wb") as f:
        return subprocess.Popen(command, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)


def in_flight_before(log: Path) -> int:
    found = re.findall(r"(\d+) in flight", log.read_text(errors="replace"))
    return int(found[-1]) if found else -1


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prompts", type=int, default=1024)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--model")
    parser.add_argument("--out")
    parser.add_argument("--kill-at", type=float, default=0.5, help="share of prompts journaled at the kill")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--prompts-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--order-seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    args.out = args.out or tempfile.mkdtemp(prefix="cosmo-resume-")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    bench = generation_benchmark()
    if not args.model:
        from cosmo_blocks.generation import build_tiny_model

        args.model = str(build_tiny_model(Path(args.out) / "tiny-mixtral"))
    args.prompts_file = Path(args.out) / "prompts.jsonl"
    bench.build_prompts(args.prompts, args.prompts_file)
    journal = Path(args.out) / "task/logs/journal/00000.jsonl"
    target = int(args.prompts * args.kill_at)

    first_log = Path(args.out) / "first.log"
    t0 = time.monotonic()
    proc = start(args, 0, first_log)
    while len(journal_ids(journal)) < target:
        if proc.poll() is not None:
            sys.exit(f"task ended before the kill point, see {first_log}")
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_after = time.monotonic() - t0
    journaled = journal_ids(journal)
    in_flight = in_flight_before(first_log)

    rerun_log = Path(args.out) / "rerun.log"
    t1 = time.monotonic()
    rc = start(args, 1, rerun_log).wait()
    rerun_s = time.monotonic() - t1
    stats = next(
        s["stats"]
        for s in json.loads((Path(args.out) / "task/logs/stats.json").read_text())
        if "vLLM" in s["name"]
    )
    ids = journal_ids(journal)
    output = [
        json.loads(line)["id"] for line in (Path(args.out) / "task/data/00000.jsonl").read_text().splitlines()
    ]
    twice = len(ids) - len(set(ids))
    rows = [
        ("prompts", args.prompts),
        ("killed after (s, incl. engine start)", f"{killed_after:.1f}"),
        ("journaled before the kill", len(journaled)),
        ("in flight at the last progress line before the kill", in_flight),
        ("rerun: resumed from journal", stats.get("resumed_from_journal", 0)),
        ("rerun: generated", stats.get("generated", 0)),
        ("rerun: wall s (incl. engine start)", f"{rerun_s:.1f}"),
        ("documents generated twice", twice),
        (
            "output: distinct ids / lines / missing",
            f"{len(set(output))} / {len(output)} / {args.prompts - len(set(output))}",
        ),
        ("rerun exit code", rc),
    ]
    print(
        f"\nresume after kill -9 at {args.kill_at:.0%}: {args.prompts} prompts x {args.tokens} tokens, model {args.model}"
    )
    print(f"machine: {bench.machine()}")
    for name, value in rows:
        print(f"{name:<55}{value!s:>20}")


if __name__ == "__main__":
    main()
