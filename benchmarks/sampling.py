"""Sampling settings for a small model: generate from the bundled seeds under each, keep everything.

    python benchmarks/sampling.py --out DIR [--model smollm2-135m] [--only NAME ...] [--limit N]
    python benchmarks/quality.py DIR/*/generations.jsonl     # then: finish reasons, drops, kept share

For each setting below, the bundled seeds become the quickstart's prompts (60 English prompts, every
format) plus one Korean prompt per seed (30), generated with a fixed per-request seed, and written
unfiltered to DIR/<setting>/generations.jsonl (one record per line: text + metadata, including
prompt, topic, format, audience, language, finish_reason, token_length). Nothing is filtered here,
so the same files serve the filter chain's measurements and a reader's labels.

Cosmopedia's own sampling (temperature 0.6, top_p 0.95, top_k 50, repetition_penalty 1.2) is the
first setting; max_tokens is 1024 everywhere instead of its 2,500, so that four settings fit in an
hour of two CPU cores.
"""

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

COSMOPEDIA = {"temperature": 0.6, "top_p": 0.95, "top_k": 50, "repetition_penalty": 1.2, "max_tokens": 1024}
SETTINGS = {
    "cosmopedia-rp1.2": COSMOPEDIA,
    "rp1.1": COSMOPEDIA | {"repetition_penalty": 1.1},
    "rp1.0": COSMOPEDIA | {"repetition_penalty": 1.0},
    "t0.3-rp1.05": COSMOPEDIA | {"temperature": 0.3, "repetition_penalty": 1.05},
}


def prompts() -> list:
    from cosmo_blocks.prompts import PromptBuilder
    from cosmo_blocks.resources import bundled_seeds
    from cosmo_blocks.seeds import SeedReader, TopicExtractor

    def seeds():
        return TopicExtractor()(SeedReader(str(bundled_seeds()))())

    english = list(PromptBuilder(variants=2)(seeds()))
    korean = list(PromptBuilder(language="ko", salt="ko")(seeds()))
    for doc in korean:
        doc.id = f"ko-{doc.id}"
    return english + korean


def generate(name: str, sampling: dict, model: str, out: Path, limit: int | None) -> float:
    from datatrove.pipeline.writers import JsonlWriter

    from cosmo_blocks.generation import VLLMGenerator

    folder = out / name
    shutil.rmtree(folder, ignore_errors=True)
    docs = prompts()[:limit]
    generator = VLLMGenerator(model=model, sampling=sampling, seed=0, progress_interval=60)
    writer = JsonlWriter(str(folder), output_filename="generations.jsonl", compression=None)
    t0 = time.monotonic()
    for _ in writer.run(generator.run(iter(docs))):
        pass
    return time.monotonic() - t0


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--only", nargs="*", help="settings to run (default: all)")
    parser.add_argument("--limit", type=int, help="first N prompts only")
    args = parser.parse_args()
    for name, sampling in SETTINGS.items():
        if args.only and name not in args.only:
            continue
        seconds = generate(name, sampling, args.model, args.out, args.limit)
        print(f"{name}: {sampling} -> {args.out / name / 'generations.jsonl'} in {seconds:.0f}s", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
