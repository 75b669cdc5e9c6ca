"""One generation task under datatrove's LocalPipelineExecutor, run as a subprocess by the tests.

    python tests/generation/task.py --prompts P.jsonl [--model TINY] --out DIR [--order-seed N] [--stop-after N]

Reads {"id", "prompt"} records in an order shuffled by --order-seed (a rerun may see them in any
order), generates with VLLMGenerator (without --model, the model it chooses on this host) journaling to DIR/logs/journal, writes DIR/data/00000.jsonl.
"""

import argparse
import os
import random
import signal

import orjson
from datatrove.data import Document
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.writers import JsonlWriter

from cosmo_blocks.generation import VLLMGenerator


def prompts_reader(path: str, order_seed: int):
    def read(data, rank: int = 0, world_size: int = 1):
        with open(path, "rb") as f:
            records = [orjson.loads(line) for line in f]
        random.Random(order_seed).shuffle(records)
        for record in records:
            yield Document(text="", id=record["id"], metadata={"prompt": record["prompt"]})

    return read


def freeze_after(n: int):
    """SIGSTOP this process once n documents came out of the generator, for the test to kill it there."""

    def step(data, rank: int = 0, world_size: int = 1):
        for count, doc in enumerate(data, 1):
            if count == n:
                os.kill(os.getpid(), signal.SIGSTOP)
            yield doc

    return step


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", required=True)
    parser.add_argument("--model")
    parser.add_argument("--out", required=True)
    parser.add_argument("--order-seed", type=int, default=0)
    parser.add_argument("--stop-after", type=int, default=0, help="freeze after N documents (0: never)")
    parser.add_argument("--sampling", default='{"max_tokens": 256}')
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engine-kwargs", default='{"gpu_memory_utilization": 0.1, "max_model_len": 4096}')
    args = parser.parse_args()
    generator = VLLMGenerator(
        args.model,
        sampling=orjson.loads(args.sampling),
        engine_kwargs=orjson.loads(args.engine_kwargs),
        journal_dir=f"{args.out}/logs/journal",
        seed=args.seed,
        progress_interval=1.0,
    )
    steps = [
        prompts_reader(args.prompts, args.order_seed),
        generator,
        *([freeze_after(args.stop_after)] if args.stop_after else []),
        JsonlWriter(f"{args.out}/data", compression=None),
    ]
    LocalPipelineExecutor(steps, tasks=1, workers=1, logging_dir=f"{args.out}/logs").run()


if __name__ == "__main__":
    main()
