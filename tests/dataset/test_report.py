"""The run report and its dataset card, on a run folder made from 300 real SmolLM2 generations.

The run folder is written by real datatrove executors with our writers and journal, in the layout of a
multi-stage pipeline:
- stage `generate` (2 tasks): the generations replayed through the journal (GenerationJournal) with the
  generation step's stat names, a filter dropping what the human labels call repetition / degenerate /
  too short / truncated into `rejects/`, the rest to `generated/` (parquet);
- stage `dedup` (1 task): `generated/` read back (ParquetReader), 8 planted exact copies dropped as
  `duplicate` into `dedup/removed/`, 5 documents dropped as `contaminated_mmlu` / `contaminated_arc`
  into `contaminated/`, the rest to `data/` (parquet);
- stage `report` (1 task): ReportWriter, as a pipeline adds it.
The generation timing is not measured here (nothing generates): the replay reports each task's
`generation_seconds` at SmolLM2's measured CPU rate (~155 tokens/s, docs/ENVIRONMENT), so the
throughput plot has something real-shaped to draw.
"""

import html
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest
import yaml
from datatrove.data import Document
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.readers import ParquetReader

from cosmo_blocks import keys
from cosmo_blocks.dataset.report import REPORT_FILE, ReportWriter, collect_run, render_sample
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.generation.journal import GenerationJournal
from cosmo_blocks.writers import CosmopediaJsonlWriter, CosmopediaParquetWriter

REPO = Path(__file__).resolve().parents[2]
GENERATIONS = REPO / "tests" / "filters" / "data" / "smollm2" / "labelled.jsonl"
COSMO = Path(sys.executable).with_name("cosmo")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
REJECTED = {"repetition", "degenerate", "too_short", "truncated"}
RATE = 155.0  # tokens/s, SmolLM2-135M on this machine's CPU
COPIES = 8
CONTAMINATED = {0: "mmlu", 1: "mmlu", 2: "mmlu", 3: "arc", 4: "arc"}


class Replay(PipelineStep):
    """Yields this task's share of the real generations, journaling each, with the generator's stats."""

    name = "🤖 Replay"
    type = "🤖 - GENERATION"

    def __init__(self, records: list[dict], journal_dir: str):
        super().__init__()
        self.records, self.journal_dir = records, journal_dir

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        journal = GenerationJournal(self.journal_dir, rank)
        tokens = 0
        for record in self.records[rank::world_size]:
            meta = record["metadata"]
            length = meta["token_length"]
            journal.append(
                {
                    "id": record["id"],
                    "key": "replayed",
                    "text": record["text"],
                    "finish_reason": meta["finish_reason"],
                    "prompt_tokens": len(meta["prompt"]) // 4,
                    "token_length": length,
                }  # fmt: skip
            )
            tokens += length
            self.stat_update("generated")
            self.stat_update("generated_tokens", value=length, unit="doc")
            meta = meta | {keys.MODEL: MODEL, keys.TOKEN_COUNT: length, "label": record["reason"] or "keep"}
            yield Document(text=record["text"], id=record["id"], metadata=meta)
        journal.close()
        self.stat_update("generation_seconds", value=round(tokens / RATE, 1), unit="task")
        self.stat_update("generated_tokens_per_second", value=round(RATE), unit="task")


class LabelFilter(BaseFilter):
    """Drops what the human labels say a quality filter drops, under the label's name."""

    name = "🏷 Labels"

    def filter(self, doc):
        label = doc.metadata["label"]
        return (False, label) if label in REJECTED else True


class Planted(BaseFilter):
    """Drops the documents this test planted for a reason: exact copies, or 'contaminated' ones."""

    def __init__(self, name: str, reasons: dict[str, str] | None, exclusion_writer):
        self.name = name  # before the base class names its stats after it
        super().__init__(exclusion_writer)
        self.reasons, self.seen = reasons, set()

    def filter(self, doc):
        if self.reasons is not None:
            return (False, self.reasons[doc.id]) if doc.id in self.reasons else True
        if doc.text in self.seen:
            return False, "duplicate"
        self.seen.add(doc.text)
        return True


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("run") / "out"
    records = [orjson.loads(line) for line in GENERATIONS.read_bytes().splitlines()]
    kept = [r for r in records if r["reason"] not in REJECTED]
    copies = [r | {"id": r["id"] + "/copy"} for r in kept[10 : 10 + COPIES]]
    contaminated = {kept[i]["id"]: f"contaminated_{name}" for i, name in CONTAMINATED.items()}

    def stage(name, steps, tasks):
        LocalPipelineExecutor(steps, tasks=tasks, workers=1, logging_dir=str(out / "logs" / name)).run()

    stage(
        "generate",
        [
            Replay(records + copies, str(out / "logs" / "journal")),
            LabelFilter(CosmopediaJsonlWriter(str(out / "rejects"), rejects=True)),
            CosmopediaParquetWriter(str(out / "generated")),
        ],
        tasks=2,
    )
    stage(
        "dedup",
        [
            ParquetReader(str(out / "generated")),
            Planted(
                "🎯 MinHash filter", None, CosmopediaJsonlWriter(str(out / "dedup" / "removed"), rejects=True)
            ),
            Planted(
                "🧪 Decontamination",
                contaminated,
                CosmopediaJsonlWriter(str(out / "contaminated"), rejects=True),
            ),
            CosmopediaParquetWriter(str(out / "data")),
        ],
        tasks=1,
    )
    stage("report", [ReportWriter(str(out))], tasks=1)
    expected = {
        "data": len(kept) - len(CONTAMINATED),
        "rejects": len(records) - len(kept),
        "generated": len(records) + COPIES,
        "formats": Counter(r["metadata"]["format"] for r in records + copies),
    }
    return {"out": out, "expected": expected, "records": records, "contaminated": contaminated}


def test_report_counts_every_part_of_the_run(run):
    facts, expected = collect_run(str(run["out"])), run["expected"]
    assert [stage.name for stage in facts.stages] == ["generate", "dedup", "report"]  # run order
    assert facts.data.rows == expected["data"]
    assert facts.parts["rejects"].rows == expected["rejects"]
    assert facts.before.rows == expected["generated"]
    assert facts.before.counts(keys.FORMAT) == expected["formats"]
    assert facts.contamination() == {"mmlu": 3, "arc": 2}
    dedup = facts.dedup()
    assert dedup["rate"] == pytest.approx(COPIES / (expected["data"] + COPIES + len(CONTAMINATED)))
    assert dedup["records in dedup/removed/"] == COPIES
    drops = {(step, reason): n for step, reason, n in facts.drops()}
    labels = Counter(r["reason"] for r in run["records"] if r["reason"] in REJECTED)
    assert {reason: n for (step, reason), n in drops.items() if step == "Labels"} == labels
    assert drops[("MinHash filter", "duplicate")] == COPIES
    assert [r.documents for r in facts.ranks] == [154, 154]  # 308 journaled over 2 tasks
    assert all(r.rate == RATE and r.last_write for r in facts.ranks)

    page = (run["out"] / REPORT_FILE).read_text()
    assert "Duplicate rate: <b>" in page and "Journal entries have no timestamps" in page
    sample = facts.samples[0]
    assert html.escape(sample[keys.PROMPT][:200]) in page


def test_samples_are_escaped():
    page = render_sample({"id": "x", keys.PROMPT: "<script>alert(1)</script>", "text": "a & b </pre>"})
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "a &amp; b &lt;/pre&gt;" in page


def _plot_pixels(png: Path) -> int:
    """Pixels in matplotlib's tab:blue, tab:orange and tab:red, the bars and boxes of the report."""
    from PIL import Image

    colours = {(31, 119, 180), (255, 127, 14), (214, 39, 40)}
    image = Image.open(png).convert("RGB")
    return sum(n for n, colour in image.getcolors(maxcolors=1 << 24) if colour in colours)


def _screenshot(page: Path, png: Path) -> None:
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={png}",
         "--window-size=1200,3000", "--hide-scrollbars", page.as_uri()],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt install chromium)")
def test_report_renders_its_plots_in_chromium(run, tmp_path):
    page = run["out"] / REPORT_FILE
    text = page.read_text()
    assert "http://" not in text and "https://" not in text and "<link" not in text  # self-contained
    # the same page without its images: a screenshot of it must lack the plot colours
    bare = tmp_path / "bare.html"
    bare.write_text(text.replace('<img alt="', '<span title="').replace('src="data:image/png', 'data-x="'))
    _screenshot(page, tmp_path / "report.png")
    _screenshot(bare, tmp_path / "bare.png")
    shutil.copy(tmp_path / "report.png", "/tmp/report.png")
    assert _plot_pixels(tmp_path / "bare.png") == 0
    # four plots in the first 3000 pixels (mix, token lengths, drops, throughput), each thousands of pixels
    assert _plot_pixels(tmp_path / "report.png") > 20_000


def test_card_header_and_load_dataset(run, tmp_path):
    import datasets
    from huggingface_hub import DatasetCard

    card_path = run["out"] / "README.md"
    text = card_path.read_text()
    header = yaml.safe_load(text.split("---")[1])
    assert header["configs"][0]["data_files"][0]["path"] == "data/*.parquet"
    assert header["dataset_info"]["splits"][0]["num_examples"] == run["expected"]["data"]
    assert header["size_categories"] == ["n<1K"] and header["task_categories"] == ["text-generation"]
    ds = datasets.load_dataset(str(run["out"]), split="train", cache_dir=str(tmp_path / "cache"))
    card = DatasetCard.load(card_path)
    languages = Counter(r[keys.LANGUAGE] for r in ds)
    assert card.data.license == "other" and card.data.language == [
        name for name, _ in languages.most_common()
    ]
    assert "| Labels | repetition |" in card.text and "| mmlu | 3 |" in card.text
    assert ds.num_rows == run["expected"]["data"]
    assert set(ds.column_names) >= set(keys.COSMOPEDIA_COLUMNS)


def test_dry_run_lists_the_upload_and_touches_nothing(run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(run["out"] / "data", out / "data")
    shutil.copytree(run["out"] / "rejects", out / "rejects")
    env = os.environ | {"HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9", "HF_TOKEN": "hf_invalid"}
    result = subprocess.run(
        [COSMO, "report", str(out), "--push-to-hub", "someone/cosmo", "--private", "--dry-run"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "would upload to dataset repo someone/cosmo (private):" in lines
    data_file = next((out / "data").iterdir())
    assert f"  {data_file.stat().st_size:>12,}  data/{data_file.name}" in lines
    assert any(line.endswith("README.md  (rebuilt first)") for line in lines)
    assert not any("rejects" in line for line in lines[1:])
    assert sorted(p.name for p in out.iterdir()) == ["data", "rejects"]  # nothing built

    shutil.rmtree(out / "data")
    result = subprocess.run(
        [COSMO, "report", str(out), "--push-to-hub", "someone/cosmo", "--dry-run"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert f"Error: {out}/data holds no records" in result.stderr


def test_a_folder_without_data_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="holds no records"):
        collect_run(str(tmp_path))


def test_a_run_that_dropped_everything_gets_a_report_without_card(run, tmp_path):
    out = tmp_path / "dropped"
    shutil.copytree(run["out"] / "rejects", out / "rejects")
    assert list(ReportWriter(out).run(None)) == []
    assert (out / REPORT_FILE).exists() and not (out / "README.md").exists()
    page = (out / REPORT_FILE).read_text()
    rejected = sum(len(f.read_text().splitlines()) for f in (out / "rejects").rglob("*.jsonl"))
    assert page.count("<img") == 2  # the mix and the drops
    assert 'records kept (data/)</td><td class="n">0<' in page and f'class="n">{rejected}<' in page
