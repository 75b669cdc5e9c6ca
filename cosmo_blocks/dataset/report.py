"""`cosmo report OUTPUT`: one self-contained HTML page about a finished run, read from its folder.

Every part of the run folder is optional; the page shows what exists and says what does not:

- `data/` (the dataset: parquet or jsonl), `rejects/` (quality-filter rejects with `filter_reason`),
  `dedup/removed/` (near-duplicates), `contaminated/` (decontamination rejects, `filter_reason`
  `contaminated_<benchmark>`): the format and audience mix before filtering (all four) and after
  (`data/`), and the token lengths per format of the dataset;
- `logs/stats.json` or `logs/<stage>/stats.json` (datatrove's merged stats): drops per filter and
  reason (`dropped_<reason>`), contamination per benchmark (`contaminated_<benchmark>` or
  `dropped_contaminated_<benchmark>`), the dedup stage's `total` / `dropped`;
- `logs/journal/*.jsonl` (the generation journal) and the per-task stats
  (`generated_tokens_per_second`, `generation_seconds`): tokens/s over the run. Journal entries carry
  no timestamps, so each task's span is placed at its journal file's last write minus its
  `generation_seconds`, at its average rate; an entry with a `time` field (unix seconds) is binned
  by it instead.

Only the columns a plot needs are read (pyarrow column projection, orjson for jsonl), so a run of
100,000 records is read in seconds. matplotlib (Agg) is imported inside the functions that draw.
"""

import base64
import html
import io
import os
import posixpath
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import orjson
from datatrove.data import DocumentsPipeline
from datatrove.io import DataFolder, get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError

REPORT_FILE = "report/index.html"
DATA_DIR = "data"
# the parts of a run whose records were generated, in the order filtering removed them
PARTS = {"rejects": "rejects", "duplicates": "dedup/removed", "contaminated": "contaminated"}
RECORD_SUFFIXES = (".parquet", ".jsonl", ".jsonl.gz", ".jsonl.zst", ".json")
# token counts under the names our writer, Cosmopedia v0.1 and v2 use, first found wins
LENGTH_COLUMNS = (keys.TOKEN_LENGTH, keys.TOKEN_COUNT, "text_token_length")
MIX_COLUMNS = (keys.FORMAT, keys.AUDIENCE, keys.FILTER_REASON, keys.LANGUAGE, keys.MODEL, *LENGTH_COLUMNS)
SAMPLE_COLUMNS = ("id", keys.FORMAT, keys.AUDIENCE, keys.TOPIC, keys.PROMPT, "text")
CONTAMINATED = re.compile(r"^(?:dropped_)?contaminated_(?!tg_)(.+)$")
SAMPLES = 6
SAMPLE_CHARS = 1500


# ---------------------------------------------------------------------------------------------
# reading the run folder


@dataclass
class Part:
    """The columns of one part of the run (the dataset, or what one kind of filtering removed)."""

    rows: int = 0
    files: int = 0
    columns: dict[str, list] = field(default_factory=lambda: defaultdict(list))

    def counts(self, column: str) -> Counter:
        return Counter(v for v in self.columns.get(column, ()) if v not in (None, ""))

    def token_lengths(self) -> list:
        for column in LENGTH_COLUMNS:
            if any(v is not None for v in self.columns.get(column, ())):
                return self.columns[column]
        return []


@dataclass
class StageStats:
    name: str
    steps: list[dict]


@dataclass
class RankRate:
    rank: str
    documents: int
    tokens: int
    last_write: float | None = None
    seconds: float | None = None
    rate: float | None = None
    times: list = field(default_factory=list)


@dataclass
class RunFacts:
    """What a run folder tells: its records by part, its stages' stats, its journal, its settings."""

    output: str
    data: Part
    parts: dict[str, Part]
    stages: list[StageStats]
    ranks: list[RankRate]
    samples: list[dict]
    generation: dict
    data_files: list[str]

    @property
    def before(self) -> Part:
        """Everything generated: the dataset plus what filtering, dedup and decontamination removed."""
        merged = Part()
        for part in (self.data, *self.parts.values()):
            merged.rows += part.rows
            for column in (keys.FORMAT, keys.AUDIENCE):
                values = part.columns.get(column) or [None] * part.rows
                merged.columns[column].extend(values)
        return merged

    def drops(self) -> list[tuple[str, str, int]]:
        """(step, reason, count): every `dropped_<reason>` in the stats, else the rejects' reasons."""
        found = []
        for stage in self.stages:
            for step in stage.steps:
                stats, name = step.get("stats") or {}, _step_name(step.get("name", "?"))
                reasons = {k[8:]: _total(v) for k, v in stats.items() if k.startswith("dropped_")}
                if not reasons and _total(stats.get("dropped")):
                    reasons = {"dropped": _total(stats["dropped"])}
                found += [(name, reason, int(n)) for reason, n in reasons.items() if n]
        if found:
            return found
        return [
            ("rejects", reason, n) for reason, n in self.parts["rejects"].counts(keys.FILTER_REASON).items()
        ]

    def contamination(self) -> dict[str, int]:
        """Documents dropped per benchmark: the `contaminated/` records' reasons, else the stats."""
        counts: Counter = Counter()
        for reason, n in self.parts["contaminated"].counts(keys.FILTER_REASON).items():
            match = CONTAMINATED.match(reason)
            counts[match[1] if match else reason] += n
        if counts:
            return dict(counts)
        for stage in self.stages:
            for step in stage.steps:
                for key, value in (step.get("stats") or {}).items():
                    if match := CONTAMINATED.match(key):
                        counts[match[1]] += int(_total(value))
        return {k: v for k, v in counts.items() if v}

    def decontaminated(self) -> int | None:
        """Documents the decontamination step checked, None when no stage ran one."""
        from cosmo_blocks.dataset.decontamination import BenchmarkDecontaminator

        steps = [
            step
            for stage in self.stages
            for step in stage.steps
            if str(step.get("name", "")).endswith(BenchmarkDecontaminator.name)
        ]
        if not steps:
            return None
        return sum(int(_total((step.get("stats") or {}).get("total", 0))) for step in steps)

    def dedup(self) -> dict:
        """The MinHash filter's counters (stage `dedup`), the `clusters` stage's, the duplicate rate
        (`dropped / total` of the filter) and the records in `dedup/removed/`."""
        facts: dict = {}
        for stage in self.stages:
            for step in stage.steps:
                stats = step.get("stats") or {}
                minhash = stage.name == "dedup" and (
                    "dropped_duplicate" in stats or "MinHash" in step.get("name", "")
                )
                if not (minhash or stage.name == "clusters"):
                    continue
                facts |= {f"{stage.name}: {key}": _total(value) for key, value in stats.items()}
                if minhash and _total(stats.get("total")):
                    facts["rate"] = _total(stats.get("dropped")) / _total(stats["total"])
        if self.parts["duplicates"].files:
            facts["records in dedup/removed/"] = self.parts["duplicates"].rows
        return facts


def _total(value) -> float:
    return value.get("total", 0) if isinstance(value, dict) else (value or 0)


def _step_name(name: str) -> str:
    """'🔻 - FILTER: 📏 Length' -> 'Length'."""
    return re.sub(r"^\W+", "", name.split(": ", 1)[-1]) or name


def record_files(folder: DataFolder, sub: str) -> list[str]:
    """Record files under `sub` (recursive), sorted; none when the folder does not exist."""
    if not folder.isdir(sub):
        return []
    return [p for p in folder.list_files(sub) if p.endswith(RECORD_SUFFIXES)]


def read_part(folder: DataFolder, paths: list[str], columns=MIX_COLUMNS) -> Part:
    part = Part(files=len(paths))
    for path in paths:
        for name, values in _read_columns(folder, path, columns).items():
            part.columns[name].extend(values)
    part.rows = max((len(v) for v in part.columns.values()), default=0)
    for values in part.columns.values():  # a column missing from some files: pad, keep rows aligned
        values.extend([None] * (part.rows - len(values)))
    return part


def _read_columns(folder: DataFolder, path: str, columns) -> dict[str, list]:
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        with folder.open(path, "rb") as f:
            parquet = pq.ParquetFile(f)
            present = [c for c in columns if c in parquet.schema_arrow.names]
            table = parquet.read(columns=present)
        rows = table.num_rows
        found = {c: table.column(c).to_pylist() for c in present}
        return {c: found.get(c, [None] * rows) for c in columns}
    found = {c: [] for c in columns}
    for record in iter_jsonl(folder, path):
        for c in columns:
            found[c].append(record.get(c))
    return found


def iter_jsonl(folder: DataFolder, path: str, limit: int | None = None, flat: bool = True) -> Iterator[dict]:
    """The records of a jsonl file (compression from its name); torn lines skipped. `flat`: datatrove's
    own writers nest our columns under `metadata`; lift them to the top."""
    with folder.open(path, "rb", compression="infer") as f:
        for n, line in enumerate(f):
            if limit is not None and n >= limit:
                return
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue  # a torn last line of a killed task
            if isinstance(record, dict):
                yield _flatten(record) if flat else record


def _flatten(record: dict) -> dict:
    """datatrove's own writers nest our columns under `metadata`."""
    meta = record.get("metadata")
    return {**meta, **record} if isinstance(meta, dict) else record


def read_samples(folder: DataFolder, paths: list[str], count: int = SAMPLES) -> list[dict]:
    """Up to `count` records of the dataset, one per format first, read from the head of its files."""
    candidates: list[dict] = []
    for path in paths[:4]:
        if path.endswith(".parquet"):
            import pyarrow.parquet as pq

            with folder.open(path, "rb") as f:
                parquet = pq.ParquetFile(f)
                present = [c for c in SAMPLE_COLUMNS if c in parquet.schema_arrow.names]
                batch = next(parquet.iter_batches(batch_size=200, columns=present), None)
                candidates += batch.to_pylist() if batch is not None else []
        else:
            candidates += list(iter_jsonl(folder, path, limit=200))
        if len(candidates) >= 200:
            break
    chosen, seen = [], set()
    for record in candidates:
        if record.get(keys.FORMAT) not in seen:
            seen.add(record.get(keys.FORMAT))
            chosen.append(record)
    chosen += [r for r in candidates if r not in chosen]
    return chosen[:count]


def read_stages(folder: DataFolder) -> list[StageStats]:
    """Each stage's merged stats (`logs/` for one stage, `logs/<stage>/` for several), in run order
    (each stage's executor.json is written when it starts); see `_stage_steps`."""
    stages = []
    if folder.isfile("logs/executor.json"):
        stages.append(StageStats("main", _stage_steps(folder, "logs")))
    if folder.isdir("logs"):
        dirs = [posixpath.dirname(p) for p in folder.glob("logs/*/executor.json")]
        started = {d: _mtime(folder, posixpath.join(d, "executor.json")) or 0 for d in dirs}
        for stage_dir in sorted(dirs, key=lambda d: (started[d], d)):
            stages.append(StageStats(stage_dir.split("/")[-1], _stage_steps(folder, stage_dir)))
    return [s for s in stages if isinstance(s.steps, list) and s.steps]


def _stage_steps(folder: DataFolder, stage_dir: str) -> list | None:
    """The stage's tasks' own stats merged, else its stats.json: datatrove rewrites stats.json with
    only the tasks a resumed run ran again, and nothing writes it on SLURM."""
    from cosmo_blocks.run.summary import merge_stats

    task_files = sorted(folder.glob(posixpath.join(stage_dir, "stats", "*.json")))
    if not task_files:
        return _json(folder, posixpath.join(stage_dir, "stats.json"))
    return merge_stats(_bytes(folder, path) for path in task_files)


def _bytes(folder: DataFolder, path: str) -> bytes:
    with folder.open(path, "rb") as f:
        return f.read()


def _json(folder: DataFolder, path: str):
    try:
        with folder.open(path, "rb") as f:
            return orjson.loads(f.read())
    except (OSError, orjson.JSONDecodeError):
        return None


def read_ranks(folder: DataFolder) -> list[RankRate]:
    """Per generation task: documents and tokens from its journal, time and rate from its stats."""
    timing = _generation_timing(folder)
    ranks = []
    for path in sorted(folder.glob("logs/journal/*.jsonl")) if folder.isdir("logs/journal") else []:
        from cosmo_blocks.generation.journal import iter_journal

        rank = posixpath.basename(path).split(".")[0]
        docs, tokens, times = 0, 0, []
        for entry in iter_journal(folder.resolve_paths(path)):
            docs += 1
            tokens += int(entry.get("token_length") or 0)
            if isinstance(entry.get("time"), int | float):
                times.append((entry["time"], int(entry.get("token_length") or 0)))
        seconds, rate = timing.get(rank, (None, None))
        mtime = _mtime(folder, path)
        ranks.append(RankRate(rank, docs, tokens, mtime, seconds, rate, times))
    return ranks


def _generation_timing(folder: DataFolder) -> dict[str, tuple[float, float]]:
    """rank -> (generation_seconds, generated_tokens_per_second) from the per-task stats files."""
    timing = {}
    if not folder.isdir("logs"):
        return timing
    for path in folder.glob("logs/stats/*.json") + folder.glob("logs/*/stats/*.json"):
        for step in _json(folder, path) or []:
            stats = (step.get("stats") or {}) if isinstance(step, dict) else {}
            if "generation_seconds" in stats:
                rank = posixpath.basename(path).split(".")[0]
                timing[rank] = (
                    _total(stats["generation_seconds"]),
                    _total(stats.get("generated_tokens_per_second")),
                )
    return timing


def _mtime(folder: DataFolder, path: str) -> float | None:
    try:
        info = folder.info(path)
    except (OSError, ValueError):
        return None
    value = info.get("mtime") or info.get("LastModified") or info.get("last_modified")
    if hasattr(value, "timestamp"):
        return value.timestamp()
    return float(value) if isinstance(value, int | float) else None


def read_generation(folder: DataFolder) -> dict:
    """The generation step's settings (model, sampling) and the prompt mix, from `executor.json`."""
    import ast

    found: dict = {}
    paths = ["logs/executor.json"] if folder.isfile("logs/executor.json") else []
    paths += sorted(folder.glob("logs/*/executor.json")) if folder.isdir("logs") else []
    for path in paths:
        for step in (_json(folder, path) or {}).get("pipeline", []):
            for key in ("sampling", "mix", "model", "engine_kwargs"):
                if isinstance(step, dict) and key in step and key not in found:
                    try:
                        found[key] = ast.literal_eval(step[key]) if isinstance(step[key], str) else step[key]
                    except (ValueError, SyntaxError):
                        found[key] = step[key]
    return {k: v for k, v in found.items() if v not in (None, "None")}


def collect_run(output: str) -> RunFacts:
    """Read what `output` holds. Raises ConfigError when it holds no records at all (neither `data/`
    nor any dropped part): a run whose every document was dropped still gets its report."""
    folder = get_datafolder(output)
    data_files = record_files(folder, DATA_DIR)
    parts = {name: read_part(folder, record_files(folder, sub)) for name, sub in PARTS.items()}
    if not data_files and not any(part.rows for part in parts.values()):
        raise ConfigError(
            f"{posixpath.join(output, DATA_DIR)} holds no records (*.parquet, *.jsonl), nor do its rejects: "
            "give the output folder of a finished run (the --output of `cosmo run`)."
        )
    return RunFacts(
        output=output,
        data=read_part(folder, data_files),
        parts=parts,
        stages=read_stages(folder),
        ranks=read_ranks(folder),
        samples=read_samples(folder, data_files),
        generation=read_generation(folder),
        data_files=data_files,
    )


# ---------------------------------------------------------------------------------------------
# plots


def _figure(height: float, columns: int = 1):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(1, columns, figsize=(11, height))


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def plot_mix(before: Part, after: Part) -> str:
    fig, axes = _figure(4.2, columns=2)
    for ax, column in zip(axes, (keys.FORMAT, keys.AUDIENCE), strict=True):
        b, a = before.counts(column), after.counts(column)
        names = sorted(b | a, key=lambda n: -b[n])
        y = range(len(names))
        ax.barh([i + 0.2 for i in y], [b[n] for n in names], height=0.4, label="generated")
        ax.barh([i - 0.2 for i in y], [a[n] for n in names], height=0.4, label="kept (data/)")
        ax.set_yticks(list(y), names)
        ax.invert_yaxis()
        ax.set_xlabel("documents")
        ax.set_title(f"{column} mix before and after filtering")
        ax.legend()
    return _png(fig)


def plot_lengths(data: Part) -> str | None:
    lengths = data.token_lengths()
    by_format = defaultdict(list)
    for fmt, n in zip(data.columns.get(keys.FORMAT) or [None] * data.rows, lengths, strict=False):
        if n is not None:
            by_format[fmt or "(none)"].append(n)
    if not by_format:
        return None
    fig, ax = _figure(0.5 + 0.45 * len(by_format) + 1)
    names = sorted(by_format, key=lambda n: -len(by_format[n]))
    ax.boxplot([by_format[n] for n in names], orientation="horizontal", patch_artist=True, showfliers=True)
    ax.set_yticks(range(1, len(names) + 1), [f"{n} ({len(by_format[n])})" for n in names])
    ax.invert_yaxis()
    ax.set_xlabel("tokens per document")
    ax.set_title("token length per format (data/)")
    return _png(fig)


def plot_bars(counts: dict[str, float], title: str, xlabel: str) -> str | None:
    if not counts:
        return None
    fig, ax = _figure(0.8 + 0.32 * len(counts) + 0.6)
    names = list(counts)
    ax.barh(range(len(names)), [counts[n] for n in names], color="tab:red")
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    for i, n in enumerate(names):
        ax.annotate(f" {counts[n]:,.0f}", (counts[n], i), va="center", fontsize=8)
    return _png(fig)


def plot_throughput(ranks: list[RankRate]) -> tuple[str | None, str]:
    """tokens/s over the run and a note saying how it was estimated."""
    timed = [(t, n) for r in ranks for t, n in r.times]
    if timed:
        return _binned_rate(timed), "from the journal entries' `time` field, in 50 bins."
    spans = [
        (r.last_write - r.seconds, r.last_write, r.rate)
        for r in ranks
        if r.last_write and r.seconds and r.rate
    ]
    if spans:
        note = (
            "Journal entries have no timestamps: each task's span ends at its journal file's last write "
            "and lasts its `generation_seconds`, at its average `generated_tokens_per_second` (per-task "
            "stats); the curve is their sum."
        )
        return _span_rate(spans), note
    if ranks:
        counts = {f"task {r.rank}": r.tokens for r in ranks}
        note = "No task timing found (per-task stats missing): generated tokens per task from the journal."
        return plot_bars(counts, "generated tokens per task (journal)", "tokens"), note
    return None, "No generation journal (logs/journal/) in this run folder."


def _binned_rate(timed: list[tuple[float, int]]) -> str:
    start, end = min(t for t, _ in timed), max(t for t, _ in timed)
    width = max((end - start) / 50, 1e-9)
    bins = [0] * 51
    for t, n in timed:
        bins[int((t - start) / width)] += n
    fig, ax = _figure(3.5)
    ax.plot([(i + 0.5) * width / 60 for i in range(51)], [b / width for b in bins])
    ax.set_xlabel("minutes since the first generation")
    ax.set_ylabel("generated tokens/s")
    ax.set_title("generation throughput over the run (journal)")
    return _png(fig)


def _span_rate(spans: list[tuple[float, float, float]]) -> str:
    start = min(s for s, _, _ in spans)
    edges = sorted({s for s, _, _ in spans} | {e for _, e, _ in spans})
    rates = [sum(r for s, e, r in spans if s <= t < e) for t in edges]
    fig, ax = _figure(3.5)
    ax.step([(t - start) / 60 for t in edges], rates, where="post")
    ax.fill_between([(t - start) / 60 for t in edges], rates, step="post", alpha=0.3)
    ax.set_xlabel("minutes since the first task started generating (estimated)")
    ax.set_ylabel("generated tokens/s, all tasks")
    ax.set_title(f"generation throughput over the run ({len(spans)} tasks)")
    return _png(fig)


# ---------------------------------------------------------------------------------------------
# the page

STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left}
td.n{text-align:right}img{max-width:100%}.note{color:#666;font-size:.9em}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.6em;font-size:.85em;max-height:24em;overflow:auto}
details{margin:.4em 0}
"""


def _img(png: str | None, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{png}">' if png else ""


def _table(rows: list[tuple], header: tuple | None = None) -> str:
    def cell(v, tag="td"):
        if isinstance(v, float):
            return f'<{tag} class="n">{v:,.4g}</{tag}>'
        if isinstance(v, int):
            return f'<{tag} class="n">{v:,}</{tag}>'
        return f"<{tag}>{html.escape(str(v))}</{tag}>"

    head = "<tr>" + "".join(cell(h, "th") for h in header) + "</tr>" if header else ""
    return "<table>" + head + "".join("<tr>" + "".join(map(cell, r)) + "</tr>" for r in rows) + "</table>"


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def render_html(facts: RunFacts) -> str:
    before, data = facts.before, facts.data
    tokens = sum(n for n in data.token_lengths() if n)
    summary = [
        ("records generated (data + removed parts found)", before.rows),
        ("records kept (data/)", data.rows),
        ("tokens kept", tokens),
        *[
            (f"removed: {name} ({PARTS[name]}/)", part.rows)
            for name, part in facts.parts.items()
            if part.files
        ],
        ("stages with stats", ", ".join(s.name for s in facts.stages) or "none"),
    ]
    body = [f"<h1>Run report: {html.escape(facts.output)}</h1>", _table(summary)]
    if facts.generation:
        body.append(_table([(k, str(v)) for k, v in facts.generation.items()], ("generation", "")))

    body.append("<h2>Format and audience mix</h2>")
    body.append(_img(plot_mix(before, data), "format and audience mix"))
    body.append(_note("Generated = data/ + rejects/ + dedup/removed/ + contaminated/ (those present)."))

    body.append("<h2>Token length per format</h2>")
    lengths = plot_lengths(data)
    body.append(_img(lengths, "token length per format") or _note("The records have no token_length."))

    body.append("<h2>Drops per filter and reason</h2>")
    drops = facts.drops()
    counts = {f"{step}: {reason}": n for step, reason, n in drops}
    body.append(
        _img(plot_bars(counts, "documents dropped", "documents"), "drops") or _note("No drops recorded.")
    )

    body.append("<h2>Generation throughput</h2>")
    png, note = plot_throughput(facts.ranks)
    body += [_img(png, "tokens per second"), _note(note)]
    if facts.ranks:
        rows = [(r.rank, r.documents, r.tokens, r.seconds or "", r.rate or "") for r in facts.ranks]
        body.append(_table(rows, ("task", "journal documents", "journal tokens", "generation s", "tokens/s")))

    body.append("<h2>Deduplication</h2>")
    dedup = facts.dedup()
    if dedup:
        rate = dedup.pop("rate", None)
        if rate is not None:
            body.append(f"<p>Duplicate rate: <b>{rate:.2%}</b> of the documents the dedup stage read.</p>")
        body.append(_table(list(dedup.items())))
    else:
        body.append(_note("No dedup stage in this run (logs/dedup/stats.json, dedup/removed/)."))

    body.append("<h2>Contamination per benchmark</h2>")
    contamination = facts.contamination()
    png = plot_bars(contamination, "documents dropped as contaminated", "documents")
    checked = facts.decontaminated()
    if checked is not None:
        dropped = sum(contamination.values())
        body.append(f"<p>Decontamination checked {checked:,} documents and dropped {dropped:,}.</p>")
    missing = "No decontamination in this run (contaminated/, stats)." if checked is None else ""
    body.append(_img(png, "contamination") or (_note(missing) if missing else ""))

    body.append("<h2>Sample records</h2>")
    body += [render_sample(record) for record in facts.samples]
    title = f"cosmo report: {html.escape(facts.output)}"
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>"
    )


def render_sample(record: dict) -> str:
    def clip(text) -> str:
        text = str(text or "")
        return html.escape(text[:SAMPLE_CHARS] + (" […]" if len(text) > SAMPLE_CHARS else ""))

    label = " · ".join(str(record.get(k) or "") for k in ("id", keys.FORMAT, keys.AUDIENCE, keys.TOPIC))
    return (
        f"<details open><summary>{html.escape(label)}</summary>"
        f"<p><b>prompt</b></p><pre>{clip(record.get(keys.PROMPT))}</pre>"
        f"<p><b>text</b></p><pre>{clip(record.get('text'))}</pre></details>"
    )


def build_report(
    output: str, card: bool = True, license: str = "other", repo: str | None = None
) -> list[str]:
    """Write `output/report/index.html` (and, with `card`, the dataset card `output/README.md`; `repo`:
    the hub name the card's example loads).

    Returns the paths written. Without `data/` records (everything dropped) there is no card.
    Raises ConfigError when `output` holds no records at all.
    """
    facts = collect_run(output)
    folder = get_datafolder(output)
    with folder.open(REPORT_FILE, "w", encoding="utf-8") as f:
        f.write(render_html(facts))
    paths = [folder.resolve_paths(REPORT_FILE)]
    if card and not facts.data_files:
        logger.warning(f"{output}: every document was dropped, so there is no dataset card; see the report")
    elif card:
        from cosmo_blocks.dataset.card import write_card

        paths.append(write_card(output, facts, license=license, repo=repo))
    return paths


class ReportWriter(PipelineStep):
    """The report page and the dataset card of `output`, as the last stage of a pipeline.

    Run it alone in its stage, after every stage that writes records:
    `Stage("report", [ReportWriter(opts.output)], tasks=1)`. Documents passing through are forwarded.
    """

    name = "📊 Report"
    type = "📊 - REPORT"

    def __init__(self, output: str | os.PathLike, card: bool = True, license: str = "other"):
        super().__init__()
        self.output = os.fspath(output)
        self.card = card
        self.license = license

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        if rank != 0:
            return
        with self.track_time():
            for _path in build_report(self.output, card=self.card, license=self.license):
                self.stat_update("files_written")
