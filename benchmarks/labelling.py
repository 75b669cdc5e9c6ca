"""Cluster labels from the CPU model (SmolLM2-135M) with and without structured outputs (not part of the
test run): the share of clusters that get a parsed topic AND a 1-10 rating.

    python benchmarks/clustering.py cluster ... --model-dir out/model      # a fitted model folder
    flock /tmp/cosmo-engine.lock python benchmarks/labelling.py out/model --clusters 40

The same prompt (ClusterLabeller's, asking for JSON) goes to the same engine twice: once with vLLM's
structured outputs forcing the answer into the label schema, once free. A free answer counts when its
first {...} parses and validates, as StructuredAnnotator reads it.
"""

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def label(model_dir: str, n_clusters: int, structured: bool, max_tokens: int, engine_kwargs: dict) -> dict:
    from cosmo_blocks.generation import VLLMGenerator
    from cosmo_blocks.topics.labelling import ClusterLabeller, ClusterSamples

    docs = list(ClusterSamples(model_dir).run())[:n_clusters]
    generator = VLLMGenerator(
        model="smollm2-135m",
        sampling={"preset": "small", "max_tokens": max_tokens},
        engine_kwargs=engine_kwargs,
        seed=0,
    )
    labeller = ClusterLabeller(generator, structured=structured)
    t0 = time.perf_counter()
    out = sorted(labeller.run(iter(docs)), key=lambda d: d.metadata["cluster"])
    seconds = time.perf_counter() - t0
    stats = {name: metric.total for name, metric in labeller.stats.stats.items()}
    return {
        "structured": structured,
        "clusters": len(docs),
        "labelled": len(out),
        "share_labelled": round(len(out) / len(docs), 3),
        "unparsed": {k: v for k, v in stats.items() if k.startswith("unparsed") or k == "unanswered"},
        "seconds_incl_engine_start": round(seconds, 1),
        "scores": dict(sorted(Counter(d.metadata["educational_score"] for d in out).items())),
        "examples": [
            f"{d.metadata['cluster']}: {d.metadata['topic']} ({d.metadata['educational_score']})"
            for d in out[:12]
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model_dir")
    parser.add_argument("--clusters", type=int, default=40, help="the largest N clusters")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument(
        "--memory", type=float, default=0.1, help="gpu_memory_utilization (share of RAM on CPU)"
    )
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    engine_kwargs = {"gpu_memory_utilization": args.memory, "max_model_len": 4096}
    results = [label(args.model_dir, args.clusters, s, args.max_tokens, engine_kwargs) for s in (True, False)]
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
