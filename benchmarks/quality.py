"""What the filter chain does to real generations: finish reasons, drops per filter, kept share, speed.

    python benchmarks/quality.py FILE.jsonl [FILE.jsonl ...] [--labels LABELS.jsonl] [--max-tokens N]
    python benchmarks/quality.py --labelled          # the labelled SmolLM2 set kept in the tests

Each FILE holds generations as benchmarks/sampling.py writes them (one record per line: text, id,
metadata with format, language, topic, prompt, finish_reason, token_length), or as the labelled set
stores them. For each file (a sampling setting), the default chain (`quality_filters()`) runs over its
documents in this process, one filter after the other as a pipeline would, and the report gives:

- finish reasons, and token length per format (10th / 50th / 90th percentile);
- per filter: documents in, dropped (share, and per reason), documents/s;
- the kept share after the whole chain.

With labels (keep / drop + reason per id, as in the labelled set), the chain's verdicts are compared
with a reader's: agreement overall, the share of each labelled reason the chain drops, and every
document a reader kept that the chain drops (a false drop), with the filter and reason.

--max-tokens N shows what a smaller max_tokens would have given: each generation longer than N
tokens is cut to its first N (with the model's tokenizer) and marked finish_reason "length", which is
what vLLM returns for the same request and seed with max_tokens N.
"""

import argparse
import copy
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LABELLED = REPO / "tests" / "filters" / "data" / "smollm2" / "labelled.jsonl"


def load(path: Path) -> list:
    from datatrove.data import Document

    docs = []
    for line in path.read_bytes().splitlines():
        if line.strip():
            record = orjson.loads(line)
            docs.append(Document(text=record["text"], id=record["id"], metadata=dict(record["metadata"])))
    return docs


def load_labels(path: Path) -> dict[str, dict]:
    return {r["id"]: r for r in map(orjson.loads, path.read_bytes().splitlines()) if r}


def cut_to(docs: list, max_tokens: int, model: str) -> list:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    out = []
    for doc in docs:
        doc = copy.deepcopy(doc)
        ids = tokenizer.encode(doc.text, add_special_tokens=False)
        if len(ids) > max_tokens:
            doc.text = tokenizer.decode(ids[:max_tokens])
            doc.metadata.update(finish_reason="length", token_length=max_tokens)
        out.append(doc)
    return out


def run_chain(steps: list, docs: list) -> tuple[dict[str, tuple[str, str]], list[dict]]:
    """Each document's (filter, reason) where it was dropped, and per step: in, dropped, seconds."""
    from datatrove.pipeline.filters.base_filter import BaseFilter

    verdicts, report, alive = {}, [], [copy.deepcopy(doc) for doc in docs]
    for step in steps:
        t0 = time.perf_counter()
        if isinstance(step, BaseFilter):
            results = step.filter_batch(alive)
            kept = []
            for doc, result in zip(alive, results, strict=True):
                if result is True or (isinstance(result, tuple) and result[0]):
                    kept.append(doc)
                else:
                    verdicts[doc.id] = (step.name, result[1] if isinstance(result, tuple) else "dropped")
        else:
            kept = list(step.run(iter(alive)))
        report.append({"step": step.name, "in": len(alive), "out": len(kept), "s": time.perf_counter() - t0})
        alive = kept
    return verdicts, report


def percentiles(values: list[int]) -> str:
    values = sorted(values)
    if not values:
        return "-"
    pick = [values[min(len(values) - 1, int(q * len(values)))] for q in (0.1, 0.5, 0.9)]
    return "/".join(map(str, pick))


def describe(name: str, docs: list, verdicts: dict, report: list) -> None:
    print(f"\n== {name}: {len(docs)} documents")
    finish = Counter(d.metadata.get("finish_reason") for d in docs)
    print("finish reasons: " + ", ".join(f"{k}={v}" for k, v in finish.most_common()))
    by_format = defaultdict(list)
    for doc in docs:
        by_format[f"{doc.metadata.get('language')}/{doc.metadata.get('format')}"].append(
            doc.metadata.get("token_length", 0)
        )
    print("tokens p10/p50/p90: " + "; ".join(f"{k} {percentiles(v)}" for k, v in sorted(by_format.items())))
    reasons = Counter(verdicts.values())
    for row in report:
        dropped = row["in"] - row["out"]
        per = ", ".join(f"{r}={n}" for (s, r), n in reasons.most_common() if s == row["step"])
        speed = row["in"] / row["s"] if row["s"] > 0 else float("inf")
        share = dropped / row["in"] if row["in"] else 0
        print(
            f"  {row['step']:<22} in {row['in']:>4}  dropped {dropped:>4} ({share:5.1%})  {speed:>8.0f} docs/s  {per}"
        )
    kept = len(docs) - len(verdicts)
    print(f"kept {kept}/{len(docs)} = {kept / max(1, len(docs)):.1%}")


def compare(docs: list, verdicts: dict, labels: dict) -> dict:
    """The chain against a reader: agreement, per labelled reason the share dropped, false drops."""
    agree, per_reason, false_drops, missed = 0, defaultdict(lambda: [0, 0]), [], Counter()
    for doc in docs:
        label = labels.get(doc.id)
        if label is None:
            continue
        dropped = doc.id in verdicts
        reader_drops = label["label"] == "drop"
        agree += dropped == reader_drops
        key = label["reason"] if reader_drops else "keep"
        per_reason[key][0] += 1
        per_reason[key][1] += dropped
        if dropped and not reader_drops:
            false_drops.append((doc.id, *verdicts[doc.id], label.get("note", "")))
        if reader_drops and not dropped:
            missed[label["reason"]] += 1
    total = sum(n for n, _ in per_reason.values())
    print(f"\nagreement with the labels: {agree}/{total} = {agree / max(1, total):.1%}")
    for reason, (n, dropped) in sorted(per_reason.items(), key=lambda kv: -kv[1][0]):
        what = "kept" if reason == "keep" else "dropped"
        share = (n - dropped if reason == "keep" else dropped) / n
        print(f"  labelled {reason:<15} {n:>4}: chain {what} {share:6.1%}")
    for doc_id, step, reason, note in false_drops:
        print(f"  FALSE DROP {doc_id}: {step} {reason} (reader: {note})")
    return {"agreement": agree / max(1, total), "false_drops": len(false_drops), "total": total}


def chain(args) -> list:
    from cosmo_blocks.filters import DegenerationFilter, LanguageFilter, quality_filters

    steps = quality_filters(relevance=args.relevance)
    if args.old_chain:  # what the chain was before real small-model failures were named
        steps = [s for s in steps if not isinstance(s, (LanguageFilter, DegenerationFilter))]
    return steps


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--labels", type=Path, help="jsonl with id, label (keep/drop), reason")
    parser.add_argument(
        "--labelled", action="store_true", help="the labelled set in the tests (with its labels)"
    )
    parser.add_argument("--max-tokens", type=int, help="cut generations to this many tokens first")
    parser.add_argument("--model", default="smollm2-135m", help="tokenizer for --max-tokens")
    parser.add_argument(
        "--relevance", action="store_true", help="add the topic-relevance filter to the chain"
    )
    parser.add_argument(
        "--old-chain", action="store_true", help="the chain without the language and degeneration filters"
    )
    args = parser.parse_args()
    files = [LABELLED] if args.labelled else args.files
    labels = load_labels(args.labels or LABELLED) if (args.labels or args.labelled) else None
    for path in files:
        docs = load(path)
        if args.max_tokens:
            from cosmo_blocks.generation.models import resolve_model

            docs = cut_to(docs, args.max_tokens, resolve_model(args.model))
        verdicts, report = run_chain(chain(args), docs)
        name = path.parent.name if path.name == "generations.jsonl" else path.name
        describe(
            name + (f" cut to {args.max_tokens} tokens" if args.max_tokens else ""), docs, verdicts, report
        )
        if labels:
            compare(docs, verdicts, labels)


if __name__ == "__main__":
    main()
