"""CodeExecutionFilter throughput by what the code imports (not part of the test run).

    python benchmarks/code_execution.py [--programs 100]

Each kind of program runs `--programs` times (distinct programs, so the filter's cache answers
none), on all cores, through the whole filter: blocks extracted, the sandbox started, the verdict.

- stdlib only: a few lines of arithmetic, the interpreter's own startup and nothing else;
- numpy: `import numpy` and a small matrix product (Debian's python3-numpy, OpenBLAS on one thread);
- numpy + pandas + matplotlib: a data frame plotted and saved as a PNG in the sandbox's work dir;
- hallucinated import: `import numpyy`, judged without running anything past it.

Also printed: wall seconds per program, the verdicts (all must match the kind) and, for the numpy
program, the same programs run bare (`python3 -c`, no sandbox) for scale.
"""

import argparse
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datatrove.data import Document  # noqa: E402

from cosmo_blocks.filters import CodeExecutionFilter  # noqa: E402

KINDS = {
    "stdlib only": ("total = sum(i * i for i in range({i}))\nprint(total)", True),
    "numpy": ("import numpy as np\na = np.ones((50, 50)) * {i}\nprint((a @ a).sum())", True),
    "numpy + pandas + matplotlib": (
        "import numpy as np\nimport pandas as pd\nimport matplotlib.pyplot as plt\n"
        "df = pd.DataFrame({{'x': np.arange({i} + 5)}})\ndf['y'] = df.x ** 2\n"
        "df.plot(x='x', y='y')\nplt.savefig('plot.png')",
        True,
    ),
    "hallucinated import": (
        "import numpyy as np\nprint(np.zeros({i}))",
        (False, "hallucinated_import:numpyy"),
    ),
}


def docs_for(template: str, n: int) -> list[Document]:
    return [
        Document(text=f"Text.\n\n```python\n{template.format(i=i)}\n```\n\nEnd.", id=str(i)) for i in range(n)
    ]


def sandboxed(f: CodeExecutionFilter, docs: list[Document]) -> tuple[float, list]:
    f._cache.clear()  # measure runs, not cache hits
    start = time.perf_counter()
    verdicts = f.filter_batch(docs)
    return time.perf_counter() - start, verdicts


def bare(python: str, docs: list[Document], workers: int) -> float:
    env = {"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}

    def go(d):
        code = d.text.split("```python\n")[1].split("\n```")[0]
        subprocess.run([python, "-c", code], stdout=subprocess.DEVNULL, env=env, check=True)

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(go, docs))
    return time.perf_counter() - start


def table(title: str, rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join([title, "-" * len(title), lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=100)
    args = parser.parse_args()
    workers = os.cpu_count() or 1
    f = CodeExecutionFilter(workers=workers, batch_size=args.programs)
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, {workers} cores, "
          f"sandbox {f.sandbox.python}, {args.programs} programs per kind, {workers} at a time\n")  # fmt: skip
    rows = [("program", "programs/s", "s/program (wall, per worker)", "verdicts as expected")]
    for kind, (template, expected) in KINDS.items():
        docs = docs_for(template, args.programs)
        seconds, verdicts = sandboxed(f, docs)
        ok = sum(v == expected for v in verdicts)
        rows.append(
            (kind, f"{len(docs) / seconds:,.1f}", f"{seconds * workers / len(docs):.3f}", f"{ok}/{len(docs)}")
        )
        if kind == "numpy":
            numpy_bare = len(docs) / bare(f.sandbox.python, docs, workers)
    rows.append(("numpy, bare `python3 -c` (no sandbox)", f"{numpy_bare:,.1f}", "", ""))
    print(table("Code execution by imports", rows))


if __name__ == "__main__":
    main()
