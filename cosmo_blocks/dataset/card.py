"""The dataset card `OUTPUT/README.md`: the hub's YAML header and how the dataset was made.

The header has `configs` (the `data/` files as the `train` split, so `datasets.load_dataset(OUTPUT)`
and the hub open exactly the dataset, not the rejects beside it), `dataset_info` (features and the
split's exact row count), `license`, `language`, `task_categories`, `size_categories` and `tags`.
The prose names the model and sampling, the stages, every filter with its drop counts, the dedup and
decontamination numbers and the format / audience mix, all read from the run folder.

Built with huggingface_hub's `DatasetCardData` / `DatasetCard`: datatrove's
`InferenceDatasetCardGenerator` is tied to its inference runner on the hub (it fetches the source
dataset's metadata, asks the hub who the user is, reads the runner's `doc_len` / `completion_tokens`
stats and uploads the card itself), so it cannot describe a local run folder.
"""

import posixpath

from datatrove.io import get_datafolder

from cosmo_blocks import keys
from cosmo_blocks.dataset.report import REPORT_FILE, RunFacts, collect_run, iter_jsonl

CARD_FILE = "README.md"
SPLIT = "train"
# pyarrow / Python types -> the hub's `dataset_info.features` dtypes
DTYPES = {
    "string": "string",
    "large_string": "string",
    "int64": "int64",
    "int32": "int32",
    "bool": "bool",
    "double": "float64",
    "float": "float32",
    str: "string",
    int: "int64",
    bool: "bool",
    float: "float64",
}
SIZE_CATEGORIES = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
)


def size_category(rows: int) -> str:
    return next((name for limit, name in SIZE_CATEGORIES if rows < limit), "n>1B")


def features(facts: RunFacts) -> list[dict]:
    """The dataset's columns and dtypes, from its first file's schema (parquet) or first record (jsonl)."""
    folder = get_datafolder(facts.output)
    path = facts.data_files[0]
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        with folder.open(path, "rb") as f:
            schema = pq.ParquetFile(f).schema_arrow
        return [{"name": f.name, "dtype": DTYPES.get(str(f.type), "string")} for f in schema]
    first = next(iter_jsonl(folder, path, limit=1, flat=False), {})
    known = {keys.TOKEN_LENGTH: "int64", keys.TOKEN_COUNT: "int64", keys.CODE_UNVERIFIED: "bool"}
    return [{"name": k, "dtype": known.get(k) or DTYPES.get(type(v), "string")} for k, v in first.items()]


def _data_pattern(facts: RunFacts) -> str:
    suffixes = {posixpath.basename(p).split(".", 1)[1] for p in facts.data_files}
    suffix = suffixes.pop() if len(suffixes) == 1 else "*"
    nested = any(p.count("/") > 1 for p in facts.data_files)
    return f"data/**/*.{suffix}" if nested else f"data/*.{suffix}"


def card_data(facts: RunFacts, license: str = "other", pretty_name: str | None = None):
    from huggingface_hub import DatasetCardData

    folder = get_datafolder(facts.output)
    size = sum(folder.size(p) for p in facts.data_files)
    languages = [name for name, _ in facts.data.counts(keys.LANGUAGE).most_common()] or ["en"]
    return DatasetCardData(
        pretty_name=pretty_name,
        license=license,
        language=languages,
        task_categories=["text-generation"],
        size_categories=[size_category(facts.data.rows)],
        tags=["synthetic", "cosmopedia", "datatrove", "cosmo-blocks"],
        configs=[{"config_name": "default", "data_files": [{"split": SPLIT, "path": _data_pattern(facts)}]}],
        dataset_info={
            "features": features(facts),
            "splits": [{"name": SPLIT, "num_bytes": size, "num_examples": facts.data.rows}],
            "download_size": size,
            "dataset_size": size,
        },
    )


def _md_table(rows: list[tuple], header: tuple) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += [
        "| " + " | ".join(f"{v:,}" if isinstance(v, int) else str(v) for v in row) + " |" for row in rows
    ]
    return "\n".join(lines)


def card_body(facts: RunFacts, title: str, repo: str | None = None) -> str:
    """The card's prose: what the dataset is, how to load it, how it was made, its mix."""
    data, before = facts.data, facts.before
    models = ", ".join(f"`{m}`" for m in data.counts(keys.MODEL)) or "not recorded"
    tokens = sum(n for n in data.token_lengths() if n)
    made = [f"- Model: {models}"]
    if "sampling" in facts.generation:
        made.append(f"- Sampling: `{facts.generation['sampling']}`")
    if "mix" in facts.generation:
        made.append(f"- Format mix asked for: `{facts.generation['mix']}`")
    if facts.stages:
        made.append("- Stages: " + " → ".join(f"`{s.name}`" for s in facts.stages))
    sections = [
        f"# {title}",
        "Synthetic educational texts in the style of Cosmopedia, generated from seed documents with "
        f"cosmo-blocks on datatrove: {data.rows:,} documents and {tokens:,} tokens, kept from "
        f"{before.rows:,} generated.",
        "## Loading",
        f'```python\nfrom datasets import load_dataset\n\nds = load_dataset("{repo or facts.output}", '
        'split="train")\ntextbooks = ds.filter(lambda r: r["format"] == "textbook")\n```',
        "## How it was made",
        "\n".join(made),
    ]
    if drops := facts.drops():
        sections += ["### Filters and drops", _md_table(drops, ("filter", "reason", "documents"))]
    if "rate" in (dedup := facts.dedup()):
        sections += [
            "### Deduplication",
            f"datatrove's MinHash removed {dedup['rate']:.2%} of the documents it read as near-duplicates.",
        ]
    if contamination := facts.contamination():
        rows = sorted(contamination.items(), key=lambda kv: -kv[1])
        sections += ["### Decontamination", _md_table(rows, ("benchmark", "documents dropped"))]
    for column in (keys.FORMAT, keys.AUDIENCE):
        generated = before.counts(column)
        rows = [(name, generated[name], n) for name, n in data.counts(column).most_common()]
        sections += [f"## {column.capitalize()}s", _md_table(rows, (column, "generated", "kept"))]
    sections.append(f"The run's report, with plots, is [`{REPORT_FILE}`]({REPORT_FILE}).")
    return "\n\n".join(sections) + "\n"


def write_card(
    output: str,
    facts: RunFacts | None = None,
    license: str = "other",
    pretty_name: str | None = None,
    repo: str | None = None,
) -> str:
    """Write `output/README.md` from the run folder (`repo`: the hub name its example loads); returns its path."""
    from huggingface_hub import DatasetCard

    facts = facts or collect_run(output)
    title = pretty_name or posixpath.basename(output.rstrip("/")) or "cosmo-blocks dataset"
    data = card_data(facts, license=license, pretty_name=pretty_name)
    card = DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{card_body(facts, title, repo)}")
    folder = get_datafolder(output)
    with folder.open(CARD_FILE, "w", encoding="utf-8") as f:
        f.write(str(card))
    return folder.resolve_paths(CARD_FILE)
