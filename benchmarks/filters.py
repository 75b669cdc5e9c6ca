"""Side-by-side measurements for cosmo_blocks.filters (not part of the test run).

    /tmp/v/bin/pip install spacy          # datatrove's Gopher filter splits English words with spaCy
    python benchmarks/filters.py [--docs 3000] [--programs 200]

1. RepetitionFilter vs datatrove's GopherRepetitionFilter on the same synthetic corpus: documents/s,
   MB/s, and how often their keep/drop verdicts agree (tail-loop detector off, so both apply the
   same Gopher rules; also reported with it on).
2. CodeExecutionFilter: sandboxed programs/s on all cores vs bare `python3 -c` in the same run.
"""

import argparse
import os
import platform
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datatrove.data import Document  # noqa: E402

from cosmo_blocks.filters import CodeExecutionFilter, RepetitionFilter  # noqa: E402

_FUNCTION_WORDS = (
    "the of and to a in is that for it as with was on be by this are from at or an which can they "
    "their has have more also these its not but one when how into we you than other "
    # what spaCy and a regex split differently: contractions, hyphens, numbers, abbreviations
    "it's don't can't well-known 3.5 1,200 e.g. U.S. 20% self-made"
)
FUNCTION_WORDS = tuple(_FUNCTION_WORDS.split())


# -- a synthetic corpus ---------------------------------------------------------------------------
def make_vocab(rng: random.Random, size: int = 4000) -> list[str]:
    syllables = [c + v for c in "bcdfghklmnprstvw" for v in "aeiou"] + ["st", "tr", "pl", "ion", "er"]
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.choice((1, 2, 2, 3, 3, 4)))))
    return sorted(words)


class Writer:
    """Zipf-distributed content words between frequent function words: English-like n-gram statistics."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.vocab = make_vocab(rng)
        self.weights = [1 / (rank + 1) for rank in range(len(self.vocab))]

    def sentence(self) -> str:
        rng = self.rng
        n = rng.randint(8, 24)
        content = rng.choices(self.vocab, self.weights, k=n)
        words = [w if rng.random() < 0.55 else rng.choice(FUNCTION_WORDS) + " " + w for w in content]
        if n > 12 and rng.random() < 0.5:
            words[n // 2] += ","
        return " ".join(words).capitalize() + rng.choice("....?!")

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(3, 6)))

    def document(self, chars: int = 1900) -> str:
        parts = []
        while sum(map(len, parts)) < chars:
            r = self.rng.random()
            if r < 0.1:
                parts.append("## " + self.sentence().rstrip(".?!"))
            elif r < 0.2:
                parts.append("\n".join("- " + self.sentence() for _ in range(self.rng.randint(2, 5))))
            else:
                parts.append(self.paragraph())
        return "\n\n".join(parts)[: chars + 400]


def make_repetitive(w: Writer, text: str) -> str:
    """One of the failure modes generators show, at a random (often borderline) strength."""
    rng = w.rng
    paragraphs = text.split("\n\n")
    kind = rng.choice(("paragraphs", "lines", "sentence", "tail", "phrase", "narrow"))
    if kind == "paragraphs":
        for _ in range(rng.randint(1, 3)):
            paragraphs.insert(rng.randrange(len(paragraphs)), rng.choice(paragraphs))
    elif kind == "lines":
        line = "- " + w.sentence()
        paragraphs.append("\n".join([line] * rng.randint(2, 8)))
    elif kind == "sentence":
        s = w.sentence()
        paragraphs.insert(rng.randrange(len(paragraphs)), " ".join([s] * rng.randint(2, 6)))
    elif kind == "tail":
        phrase = " ".join(w.sentence().split()[: rng.randint(2, 8)])
        paragraphs[-1] += " " + ", ".join([phrase] * rng.randint(3, 25))
    elif kind == "phrase":
        phrase = " ".join(w.sentence().split()[:3]).lower()
        paragraphs = [" ".join(f"{s} {phrase}" for s in p.split(". ")) for p in paragraphs]
    else:  # a narrow vocabulary: what a model stuck on one topic writes
        narrow = Writer(random.Random(rng.random()))
        narrow.vocab = narrow.vocab[: rng.randint(15, 60)]
        narrow.weights = narrow.weights[: len(narrow.vocab)]
        return narrow.document(len(text))
    return "\n\n".join(paragraphs)


def corpus(n: int, seed: int = 0, repetitive_share: float = 0.3) -> list[Document]:
    w = Writer(random.Random(seed))
    docs = []
    for i in range(n):
        text = w.document()
        if w.rng.random() < repetitive_share:
            text = make_repetitive(w, text)
        docs.append(Document(text=text, id=str(i), metadata={"language": "en"}))
    return docs


# -- measurements ---------------------------------------------------------------------------------
def timed_verdicts(f, docs: list[Document]) -> tuple[list[bool], float]:
    start = time.perf_counter()
    verdicts = [f.filter(d) is True for d in docs]
    return verdicts, time.perf_counter() - start


def bench_repetition(n_docs: int) -> list[tuple[str, str]]:
    from datatrove.pipeline.filters.gopher_repetition_filter import GopherRepetitionFilter

    docs = corpus(n_docs)
    mb = sum(len(d.text.encode()) for d in docs) / 1e6
    gopher = GopherRepetitionFilter()
    gopher.filter(docs[0])  # load spaCy outside the timing
    g_verdicts, g_time = timed_verdicts(gopher, docs)
    ours_gopher_rules, _ = timed_verdicts(RepetitionFilter(tail_loop=False), docs)
    ours, o_time = timed_verdicts(RepetitionFilter(), docs)
    agree = sum(a == b for a, b in zip(g_verdicts, ours_gopher_rules, strict=True)) / len(docs)
    agree_tail = sum(a == b for a, b in zip(g_verdicts, ours, strict=True)) / len(docs)
    avg_chars = sum(len(d.text) for d in docs) / len(docs)
    return [
        ("corpus", f"{len(docs)} docs, {avg_chars:.0f} chars avg, {mb:.1f} MB"),
        ("dropped by Gopher / ours", f"{g_verdicts.count(False)} / {ours.count(False)}"),
        ("GopherRepetitionFilter (spaCy)", f"{len(docs) / g_time:,.0f} docs/s, {mb / g_time:.2f} MB/s"),
        ("RepetitionFilter (all checks)", f"{len(docs) / o_time:,.0f} docs/s, {mb / o_time:.2f} MB/s"),
        ("speed-up", f"{g_time / o_time:.1f}x"),
        ("verdict agreement, Gopher rules", f"{agree:.1%}"),
        ("verdict agreement, + tail loop", f"{agree_tail:.1%}"),
    ]


def bench_code(n_programs: int) -> list[tuple[str, str]]:
    programs = [f"total = sum(i * i for i in range({i}))\nprint(total)" for i in range(n_programs)]
    docs = [Document(text=f"Text.\n\n```python\n{p}\n```\n\nEnd.", id=str(i)) for i, p in enumerate(programs)]
    workers = os.cpu_count() or 1
    f = CodeExecutionFilter(workers=workers, batch_size=64)
    python = f.sandbox.python

    def bare(flags):
        def go(p):
            subprocess.run([python, *flags, "-c", p], stdout=subprocess.DEVNULL, check=True)

        start = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(go, programs))
        return n_programs / (time.perf_counter() - start)

    def sandboxed(setpriv: str | None):
        f._cache.clear()  # the same programs again: run them, do not answer from the cache
        f.sandbox.setpriv = setpriv
        start = time.perf_counter()
        kept = list(f.run(iter(docs)))
        assert len(kept) == n_programs, "a benchmark program failed in the sandbox"
        return n_programs / (time.perf_counter() - start)

    setpriv = f.sandbox.setpriv

    bare_plain = bare([])
    bare_isolated = bare(["-I", "-S", "-B"])
    ours = sandboxed(setpriv)
    rows = [
        ("programs, parallel", f"{n_programs}, {workers} at a time"),
        (f"bare `{python} -c`", f"{bare_plain:,.0f} programs/s"),
        (f"bare `{python} -I -S -B -c`", f"{bare_isolated:,.0f} programs/s"),
        ("CodeExecutionFilter (bwrap)", f"{ours:,.0f} programs/s"),
        ("sandbox overhead vs bare -c", f"{bare_plain / ours - 1:+.0%} time per program"),
        ("sandbox overhead vs bare -I -S", f"{bare_isolated / ours - 1:+.0%} time per program"),
    ]
    if os.geteuid() == 0 and setpriv:
        # a task that also ran the engine holds gigabytes: how the way we leave root scales with that
        ballast = bytearray(2 << 30)
        ballast[:: 1 << 12] = b"x" * (len(ballast) >> 12)  # touch every page, so they are really held
        rows += [
            ("in a 2 GiB process, setpriv (ours)", f"{sandboxed(setpriv):,.0f} programs/s"),
            ("in a 2 GiB process, subprocess user=", f"{sandboxed(None):,.0f} programs/s"),
        ]
        del ballast
    return rows


def table(title: str, rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join([title, "-" * len(title), *(f"{k:<{width}}  {v}" for k, v in rows)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=3000)
    parser.add_argument("--programs", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}\n")  # fmt: skip
    print(table("Repetition", bench_repetition(args.docs)) + "\n")
    print(table("Code execution", bench_code(args.programs)))


if __name__ == "__main__":
    main()
