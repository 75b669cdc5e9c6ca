"""Every bundled recipe on its bundled seed sample: prompt rendering speed, then (unless
--render-only) a real run on the CPU model with what came out and why the rest was dropped.

    python benchmarks/recipes.py --output /tmp/recipes                  # all recipes, SmolLM2 on CPU
    python benchmarks/recipes.py --output /tmp/recipes --recipes stanford,stories --limit 10
    python benchmarks/recipes.py --output /tmp/recipes --render-only --language ko

Rendering: per stage that builds prompts, the seeds are prepared first (read, topic, a course's
units), copied until there are at least --render-seeds of them, then turned into prompts in this
process (one core); the best of --repeat runs counts. The target is >= 10,000 prompts/s per core.
A stage that reads what an earlier one wrote (stanford's units) is rendered from the run's output,
so run without --render-only first.

Runs: `cosmo run RECIPE --output OUTPUT/RECIPE` (no --model: SmolLM2-135M-Instruct on a machine without
a GPU), then per stage from its stats: prompts, documents generated, documents kept by the writer,
and every drop and skip by reason.
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path


def stages_with_prompts(recipe: str, output: str, language: str):
    """(stage name, steps before its PromptBuilder, the builder) for each stage that builds prompts."""
    from cosmo_blocks.prompts import PromptBuilder
    from cosmo_blocks.resources import find_pipeline
    from cosmo_blocks.run import RunOptions, Stage, load_build

    opts = RunOptions(output=output, params=(f"language={language}",))
    built = load_build(find_pipeline(recipe))(opts)
    stages = built if any(isinstance(s, Stage) for s in built) else [Stage("main", list(built))]
    for stage in stages:
        cut = [i for i, step in enumerate(stage.steps) if isinstance(step, PromptBuilder)]
        if cut and not any(hasattr(step, "generator") for step in stage.steps[: cut[-1]]):
            yield stage.name, stage.steps[: cut[-1]], stage.steps[cut[-1]]


def render_speed(steps: list, builder, minimum: int, repeat: int) -> tuple[int, int, float]:
    """(seeds, prompts, best seconds) for `builder` over the prepared seeds, copied up to `minimum`."""
    data = None
    for step in steps:
        data = step(data)
    seeds = list(data)
    if not seeds:
        return 0, 0, 0.0
    seeds = seeds * -(-minimum // len(seeds))
    best, count = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        count = sum(1 for _ in builder.run(iter(seeds)))
        best = min(best, time.perf_counter() - start)
    return len(seeds), count, best


def run_recipe(recipe: str, output: Path, limit: int | None, language: str) -> float:
    cmd = ["cosmo", "run", recipe, "--output", str(output), "--param", f"language={language}"]
    cmd += ["--limit", str(limit)] if limit else []
    start = time.monotonic()
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{res.stderr[-3000:]}")
    return time.monotonic() - start


def stage_rows(output: Path) -> list[tuple[str, dict]]:
    from cosmo_blocks.run.summary import load_stats, stage_folders, summarize

    return [(name, summarize(load_stats(folder))) for name, folder in stage_folders(output / "logs")]


def reasons(summary: dict) -> str:
    counts: dict[str, int] = {}
    for group in ("dropped", "skipped"):
        for step_reasons in summary[group].values():
            for reason, n in step_reasons.items():
                key = reason if group == "dropped" else f"skipped_{reason}"
                counts[key] = counts.get(key, 0) + n
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])) or "-"


def main():
    from cosmo_blocks.recipes import bundled_recipes

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", required=True, help="Each recipe runs into OUTPUT/RECIPE.")
    parser.add_argument("--recipes", help="Comma-separated recipe names (default: every bundled recipe).")
    parser.add_argument("--limit", type=int, help="At most this many seeds per recipe run.")
    parser.add_argument("--language", default="en")
    parser.add_argument("--render-only", action="store_true")
    parser.add_argument("--render-seeds", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    recipes = [r.strip() for r in args.recipes.split(",") if r.strip()] if args.recipes else bundled_recipes()
    out = Path(args.output)
    if not args.render_only:
        print(
            f"{'recipe':20} {'stage':9} {'prompts':>7} {'generated':>9} {'kept':>5} {'wall s':>7}  drops and skips"
        )
        for recipe in recipes:
            wall = run_recipe(recipe, out / recipe, args.limit, args.language)
            for i, (stage, s) in enumerate(stage_rows(out / recipe)):
                shown = f"{wall:7.0f}" if i == 0 else " " * 7
                print(
                    f"{recipe:20} {stage:9} {s['prompts']:7d} {s['generated']:9d} {s['kept']:5d} {shown}  "
                    f"{reasons(s)}",
                    flush=True,
                )
    print(f"\n{'recipe':20} {'stage':9} {'seeds':>7} {'prompts':>8} {'seconds':>8} {'prompts/s':>10}")
    for recipe in recipes:
        for stage, steps, builder in stages_with_prompts(recipe, str(out / recipe), args.language):
            seeds, prompts, seconds = render_speed(steps, builder, args.render_seeds, args.repeat)
            rate = f"{prompts / seconds:10,.0f}" if seconds else f"{'(no seeds yet)':>10}"
            print(f"{recipe:20} {stage:9} {seeds:7d} {prompts:8d} {seconds:8.3f} {rate}", flush=True)


if __name__ == "__main__":
    main()
