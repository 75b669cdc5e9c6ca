"""Topic clustering (Cosmopedia v1) measured on real documents (not part of the test run).

    # 0. a corpus of windows: every document's first 510 MiniLM tokens, then second windows, ... up to --n
    python benchmarks/clustering.py windows /work/corpus/debian-docs.jsonl out/windows.jsonl.gz --n 10000
    # 1. embedding throughput (docs/s) and the embeddings; runs without cosmo_blocks (a GPU box needs only
    #    torch + sentence-transformers): --model a sentence-transformers folder, --device cpu|cuda
    python benchmarks/clustering.py embed out/windows.jsonl.gz --limit 300 --threads 2
    python benchmarks/clustering.py embed out/windows.jsonl.gz --device cuda --dtype float32 --save out/emb.npy
    # 2. UMAP, DBSCAN and HDBSCAN wall times and quality against the known groups, Cosmopedia's
    #    parameters and ours; float16 vs float32 fitted embeddings for 1-NN; saves our DBSCAN fit
    python benchmarks/clustering.py cluster out/windows.jsonl.gz out/emb.npy --model-dir out/model
    # 3. ClusterAssigner throughput per task (2 tasks, 1 torch thread each) and the search alone
    python benchmarks/clustering.py assign out/windows.jsonl.gz out/model --docs 100

Quality: adjusted Rand index (ARI) of the clusters against the corpus's `group` (noise counted as one
more cluster, so a fit that leaves much in noise pays for it), purity (share of clustered documents in
their cluster's most common group) beside the purity of the same cluster sizes with the groups
shuffled (chance), the noise share and the number of clusters.
"""

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def read_jsonl(path: str) -> list[dict]:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def report(result: dict, path: str | None) -> None:
    print(json.dumps(result, indent=2))
    if path:
        Path(path).write_text(json.dumps(result, indent=2))


# -- 0. windows ---------------------------------------------------------------------------------------
def windows(args) -> None:
    """510-token windows of the corpus's documents, each with its document's group: a window is what the
    model reads of a document (max_seq_length 512 with [CLS] and [SEP])."""
    from tokenizers import Tokenizer

    from cosmo_blocks import embeddings

    tok = Tokenizer.from_file(f"{embeddings.model_path()}/tokenizer.json")
    tok.no_truncation()
    by_index: dict[int, list[dict]] = {}
    for record in read_jsonl(args.corpus):
        offsets = tok.encode(record["text"], add_special_tokens=False).offsets
        for k, start in enumerate(range(0, len(offsets), 510)):
            piece = offsets[start : start + 510]
            if k and len(piece) < 128:  # a tail window of its own only with 128 tokens or more
                break
            by_index.setdefault(k, []).append(
                {
                    "id": record["id"] + (f"#{k + 1}" if k else ""),
                    "text": record["text"][piece[0][0] : piece[-1][1]],
                    "group": record["group"],
                    "corpus": record.get("corpus", ""),
                }
            )
    out = [w for k in sorted(by_index) for w in by_index[k]][: args.n]
    with gzip.open(args.out, "wt", encoding="utf-8") as f:
        for w in out:
            f.write(json.dumps(w) + "\n")
    print(f"{len(out)} windows ({len(by_index[0])} documents) -> {args.out}")


# -- 1. embedding throughput ---------------------------------------------------------------------------
def embed(args) -> None:
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    if args.threads:
        torch.set_num_threads(args.threads)
    model_path = args.model
    if model_path is None:
        from cosmo_blocks import embeddings

        model_path = embeddings.model_path()
    texts = [r["text"] for r in read_jsonl(args.corpus)][: args.limit]
    model = SentenceTransformer(model_path, device=args.device)
    model.max_seq_length = 512
    model = model.half() if args.dtype == "float16" else model.float()

    def run(batch):
        return model.encode(
            batch,
            batch_size=args.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    run(texts[: args.batch_size])  # warm-up: kernels, allocator
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    vectors = run(texts)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    device_name = (
        torch.cuda.get_device_name()
        if args.device.startswith("cuda")
        else f"cpu x{torch.get_num_threads()} threads"
    )
    result = {
        "device": device_name,
        "dtype": args.dtype,
        "batch_size": args.batch_size,
        "docs": len(texts),
        "seconds": round(seconds, 3),
        "docs_per_s": round(len(texts) / seconds, 1),
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
    }
    if args.save:
        np.save(args.save, np.asarray(vectors, dtype=np.float32))
        result["saved"] = args.save
    if args.compare:  # the same texts embedded elsewhere (e.g. fp32 on another device): cosine agreement
        other = np.load(args.compare)[: len(texts)].astype(np.float32)
        cos = (np.asarray(vectors, dtype=np.float32) * other).sum(axis=1)
        result["cosine_vs_compare"] = {"min": float(cos.min()), "mean": float(cos.mean())}
    report(result, args.json)


# -- 2. clustering: times and quality -------------------------------------------------------------------
def quality(labels, groups) -> dict:
    import numpy as np
    from sklearn.metrics import adjusted_rand_score

    labels, groups = np.asarray(labels), np.asarray(groups)
    clustered = labels != -1
    n_clustered = int(clustered.sum())

    def purity(lab, grp) -> float:
        total = 0
        for c in set(lab[lab != -1].tolist()):
            _, counts = np.unique(grp[lab == c], return_counts=True)
            total += counts.max()
        return total / max(1, int((lab != -1).sum()))

    shuffled = np.random.default_rng(0).permutation(groups)
    return {
        "clusters": int(len(set(labels.tolist()) - {-1})),
        "noise_share": round(1 - n_clustered / len(labels), 3),
        "ari": round(float(adjusted_rand_score(groups, labels)), 3),
        "ari_clustered_only": round(float(adjusted_rand_score(groups[clustered], labels[clustered])), 3)
        if n_clustered
        else None,
        "purity": round(purity(labels, groups), 3),
        "purity_chance": round(purity(labels, shuffled), 3),
    }


def cluster(args) -> None:
    import numpy as np
    import umap
    from sklearn.cluster import DBSCAN, HDBSCAN

    from cosmo_blocks.topics.clustering import (
        ClusterModel,
        cluster_info,
        dbscan_params,
        nearest_clusters,
        renumber_by_size,
    )

    records = read_jsonl(args.corpus)
    vectors = np.load(args.embeddings).astype(np.float32)[: args.n]
    records = records[: len(vectors)]
    n = len(vectors)
    groups = [r["group"] for r in records]
    corpora = [r.get("corpus", "") for r in records]
    result = {"docs": n, "groups": len(set(groups)), "cpu_count": os.cpu_count(), "timings_s": {}, "fits": {}}

    t0 = time.perf_counter()
    projection = umap.UMAP(n_components=2, metric="cosine", random_state=0, n_jobs=1).fit_transform(vectors)
    result["timings_s"]["umap_seeded_1_thread"] = round(time.perf_counter() - t0, 1)
    if args.umap_parallel:
        t0 = time.perf_counter()
        umap.UMAP(n_components=2, metric="cosine").fit_transform(vectors)
        result["timings_s"]["umap_unseeded_all_threads"] = round(time.perf_counter() - t0, 1)

    fits = {
        "dbscan_cosmopedia (eps 0.08, min_samples 50)": ("dbscan", {"eps": 0.08, "min_samples": 50}),
        "dbscan_ours (dbscan_params: {eps}, {min_samples})".format(**dbscan_params(n)): (
            "dbscan",
            dbscan_params(n),
        ),
        "hdbscan_proposed (100, 10, leaf)": (
            "hdbscan",
            {"min_cluster_size": 100, "min_samples": 10, "cluster_selection_method": "leaf"},
        ),
        f"hdbscan_ours ({max(10, n // 100)}, 10, leaf)": (
            "hdbscan",
            {"min_cluster_size": max(10, n // 100), "min_samples": 10, "cluster_selection_method": "leaf"},
        ),
    }
    for extra in args.dbscan or []:
        eps, min_samples = extra.split(",")
        fits[f"dbscan (eps {eps}, min_samples {min_samples})"] = (
            "dbscan",
            {"eps": float(eps), "min_samples": int(min_samples)},
        )
    labels_by_fit = {}
    for name, (algorithm, params) in fits.items():
        t0 = time.perf_counter()
        if algorithm == "dbscan":
            labels = DBSCAN(**params).fit(projection).labels_
        else:
            labels = HDBSCAN(**params, copy=True).fit(projection).labels_
        seconds = time.perf_counter() - t0
        labels_by_fit[name] = renumber_by_size(labels)
        result["fits"][name] = {
            "seconds": round(seconds, 2),
            "vs_group": quality(labels, groups),
            "vs_corpus": quality(labels, corpora)["ari"],
        }

    # float16 fitted embeddings: does the 1-NN cluster of held-out windows change?
    ours = next(name for name in labels_by_fit if name.startswith("dbscan_ours"))
    rng = np.random.default_rng(0)
    held = rng.permutation(n)[: n // 5]
    fitted = np.setdiff1d(np.arange(n), held)
    labels = labels_by_fit[ours]
    exact = nearest_clusters(vectors[held], vectors[fitted], labels[fitted])
    half = nearest_clusters(
        vectors[held], vectors[fitted].astype(np.float16).astype(np.float32), labels[fitted]
    )
    result["float16_1nn_agreement"] = round(float((exact == half).mean()), 4)
    result["held_out_no_cluster_share"] = round(float((exact == -1).mean()), 3)

    if args.model_dir:  # our DBSCAN fit as a ClusterModel, for `assign` and benchmarks/labelling.py
        from datatrove.data import Document

        docs = [Document(text=r["text"], id=r["id"]) for r in records]
        info = cluster_info(docs, labels, 10, 420, 0)
        fit = {
            "format": 1,
            "embedding_model": "all-MiniLM-L6-v2",
            "model": None,
            "max_seq_length": 512,
            "embeddings_dtype": "float16",
            "algorithm": "dbscan",
            "params": fits[ours][1],
            "n_docs": n,
            "n_clusters": int(labels.max()) + 1,
            "n_noise": int((labels == -1).sum()),
            "source": "benchmarks/clustering.py cluster",
        }
        ClusterModel(args.model_dir).save(vectors.astype(np.float16), labels, info, fit)
        result["model_dir"] = args.model_dir
    report(result, args.json)


# -- 3. assignment throughput ---------------------------------------------------------------------------
def assign(args) -> None:
    import numpy as np
    from datatrove.executor import LocalPipelineExecutor

    from cosmo_blocks.topics.clustering import ClusterAssigner, ClusterModel, nearest_clusters

    model = ClusterModel(args.model_dir)
    if not model.has_labels():  # every cluster labelled, none denied: the assigner's full path
        model.write_labels(
            {c["id"]: {"topic": f"topic {c['id']}", "educational_score": 5} for c in model.cluster_info()}
        )
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    # the last windows of the corpus (the fit has seen them; the cost per document does not depend on it)
    records = read_jsonl(args.corpus)[-args.docs * args.tasks :]
    src = work / "input"
    src.mkdir(exist_ok=True)
    for task in range(args.tasks):
        with open(src / f"{task:02d}.jsonl", "w") as f:
            for r in records[task :: args.tasks]:
                f.write(json.dumps({"id": r["id"], "text": r["text"]}) + "\n")
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    executor = LocalPipelineExecutor(
        pipeline=[
            JsonlReader(str(src)),
            ClusterAssigner(args.model_dir, torch_threads=1),
            JsonlWriter(str(work / "output")),
        ],
        tasks=args.tasks,
        workers=args.tasks,
        logging_dir=str(work / "logs"),
        skip_completed=False,
    )
    t0 = time.perf_counter()
    executor.run()
    wall = time.perf_counter() - t0
    stats = json.loads((work / "logs" / "stats.json").read_text())
    assigner = next(s for s in stats if "assign" in s["name"].lower())
    counts = {k: v["total"] if isinstance(v, dict) else v for k, v in assigner["stats"].items()}
    per_task_time = assigner.get("time_stats", {}).get("total", None)

    fitted = model.embeddings()
    clusters = model.clusters()
    q = fitted[:256]
    search = {}
    for rows in (len(fitted), 100_000):
        mat = fitted if rows == len(fitted) else np.resize(fitted, (rows, fitted.shape[1]))
        nearest_clusters(q, mat, np.resize(clusters, rows))
        t0 = time.perf_counter()
        for _ in range(3):
            nearest_clusters(q, mat, np.resize(clusters, rows))
        search[f"{rows}_fitted_rows_ms_per_256_docs"] = round((time.perf_counter() - t0) / 3 * 1000, 1)
    report(
        {
            "tasks": args.tasks,
            "docs_per_task": args.docs,
            "wall_s_incl_model_load": round(wall, 1),
            "docs_per_s_per_task_wall": round(args.docs / wall, 2),
            "assigner_time_s_total": per_task_time,
            "counts": counts,
            "search_only": search,
        },
        args.json,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("windows")
    p.add_argument("corpus")
    p.add_argument("out")
    p.add_argument("--n", type=int, default=10_000)
    p = sub.add_parser("embed")
    p.add_argument("corpus")
    p.add_argument(
        "--model", default=None, help="a sentence-transformers folder (default: the bundled MiniLM)"
    )
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", choices=("float32", "float16"), default="float32")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--save", default=None)
    p.add_argument("--compare", default=None)
    p.add_argument("--json", default=None)
    p = sub.add_parser("cluster")
    p.add_argument("corpus")
    p.add_argument("embeddings")
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--model-dir", default=None)
    p.add_argument("--umap-parallel", action="store_true")
    p.add_argument("--dbscan", action="append", help="extra DBSCAN fit: EPS,MIN_SAMPLES")
    p.add_argument("--json", default=None)
    p = sub.add_parser("assign")
    p.add_argument("corpus")
    p.add_argument("model_dir")
    p.add_argument("--docs", type=int, default=100, help="documents per task")
    p.add_argument("--tasks", type=int, default=2)
    p.add_argument("--work", default="out/bench-assign")
    p.add_argument("--json", default=None)
    args = parser.parse_args()
    {"windows": windows, "embed": embed, "cluster": cluster, "assign": assign}[args.command](args)


if __name__ == "__main__":
    main()
