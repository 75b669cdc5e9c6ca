"""The dataset end: what turns generated records into a training-ready dataset.

- `dataset_stages`: all of it as the stages a pipeline appends after generation (stages.py);
- `minhash_stages`: datatrove's MinHash dedup as stages a pipeline appends (dedup.py);
- `BenchmarkDecontaminator`: Cosmopedia's benchmark decontamination, or datatrove's n-gram one
  (decontamination.py);
- `Mixer`: real and synthetic text at a token ratio (mixing.py);
- `CosmopediaReader`, `CosmopediaFilter`: the released Cosmopedia and our output, read and selected
  alike (released.py);
- `ReportWriter`, `build_report`, `write_card`, `push_to_hub`: the run's report, its dataset card and
  the upload (report.py, card.py, hub.py; the `report` extra).

Heavy imports (matplotlib, huggingface_hub) happen inside the functions that need them.
"""

from cosmo_blocks.dataset.card import write_card
from cosmo_blocks.dataset.decontamination import BenchmarkDecontaminator, BenchmarkFile
from cosmo_blocks.dataset.dedup import dedup_summary, minhash_stages
from cosmo_blocks.dataset.hub import push_to_hub, upload_plan
from cosmo_blocks.dataset.mixing import Mixer, mix_summary
from cosmo_blocks.dataset.released import CosmopediaFilter, CosmopediaReader
from cosmo_blocks.dataset.report import ReportWriter, build_report
from cosmo_blocks.dataset.stages import dataset_stages

__all__ = [
    "BenchmarkDecontaminator",
    "BenchmarkFile",
    "CosmopediaFilter",
    "CosmopediaReader",
    "Mixer",
    "ReportWriter",
    "build_report",
    "dataset_stages",
    "dedup_summary",
    "minhash_stages",
    "mix_summary",
    "push_to_hub",
    "upload_plan",
    "write_card",
]
