"""A real corpus with known groups, from Debian's documentation packages, for topic clustering and retrieval.

    python benchmarks/debian_corpus.py OUT.jsonl [--sources man,python] [--max-per-group N]
        [--limit N] [--max-chars N] [--groups G1,G2,...]

Sources (nothing is downloaded; the packages must be installed):

- `man`: the English manual pages in /usr/share/man/man1..man8 (packages `manpages`,
  `manpages-dev` and every package that ships pages), rendered by groff to plain text.
  Translations, symlinks, `.so` stubs and duplicates are skipped, and so are the
  sub-command pages of the Google Cloud CLI (thousands of near-identical pages that
  would bury man1). Group: the manual section, "man1".."man8".
- `python`: the Python documentation of the Debian package `python3-doc` (HTML), split
  into sections of about 500-6000 characters. Group: for the library reference the
  chapter of library/index.html ("Text Processing Services", ...); for the other books
  the book ("tutorial", "howto", "reference", "c-api", ...). The release notes (whatsnew) are
  left out: each of their sections is about a module of some other chapter.

Each jsonl record is `{"id", "text", "title", "url", "group", "corpus"}`; ids are stable
across runs and the order is fixed (sorted by a hash of the id, so any prefix is a fair
sample of all groups). Texts shorter than MIN_CHARS and exact duplicates are dropped.
"""

import argparse
import bz2
import gzip
import hashlib
import lzma
import math
import os
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import orjson

MAN_ROOT = Path("/usr/share/man")
MAN_SECTIONS = tuple(f"man{i}" for i in range(1, 9))
PYTHON_HTML_DIRS = (Path("/usr/share/doc/python3/html"), Path("/usr/share/doc/python3.11/html"))
PYTHON_URL = "https://docs.python.org/3.11/"
SOURCES = ("man", "python")
MIN_CHARS = 500  # shorter texts say too little to be clustered or retrieved
SECTION_CHARS = 6000  # a Python page is split into sections of at most this many characters
MAX_CHARS = 12000  # a longer text (a big man page) is cut at a paragraph boundary
MAN_WIDTH = 80
RENDER_TIMEOUT_S = 60


@dataclass
class Record:
    id: str
    text: str
    title: str
    url: str
    group: str
    corpus: str

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("id", "text", "title", "url", "group", "corpus")}


@dataclass
class Unit:
    """One source file to convert: its group and a key that fixes where it comes in the order."""

    key: str
    group: str
    path: Path


class MissingSource(RuntimeError):
    """A source's Debian package is not installed."""


def stable_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def cut(text: str, max_chars: int) -> str:
    """`text` cut to at most `max_chars` at the last paragraph (or line) boundary before it."""
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    for sep in ("\n\n", "\n", " "):
        at = head.rfind(sep)
        if at > max_chars // 2:
            return head[:at].rstrip()
    return head.rstrip()


# ---------------------------------------------------------------- manual pages

_COMPRESSORS = {".gz": gzip.decompress, ".xz": lzma.decompress, ".bz2": bz2.decompress}
# groff: tbl preprocessor, input already utf-8, no warnings, plain text (no SGR, no overstrike)
_GROFF = ["groff", "-t", "-Kutf8", "-Tutf8", "-mandoc", "-Wall", "-rHY=0", f"-rLL={MAN_WIDTH}n", "-P-cbou"]
# ragged right and no hyphenation (no justification gaps, no split words), kept so by turning the
# `ad` and `hy` requests the macro packages and pages issue into no-ops
_PROLOGUE = b".ad l\n.nh\n.rn ad ad@orig\n.de ad\n..\n.rn hy hy@orig\n.de hy\n..\n"
# a running header or footer: the same word at both ends ("LS(1)  User Commands  LS(1)",
# "BSD  January 26, 2010  BSD"), or a "NAME(1)" at the end after a wide gap or alone (a SEE ALSO
# line ends in "(1)" too, but is set ragged, with single spaces); long names overlap the middle part
_RUNNING_LINE = re.compile(r"^\s*(\S{2,})\s(.*\s)?\1$|\S\s{3,}.*\(\w*\)$|^\s{10,}\S+\(\w*\)$")
_RUNNING_HEADER = re.compile(r"^\s*(\S{2,})\s(.*\s)?\1$|\(\w*\)$")
_RULE = re.compile(r"^_{20,}$")  # horizontal rules some macro sets draw
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def man_units(root: Path = MAN_ROOT, sections: Iterable[str] = MAN_SECTIONS) -> list[Unit]:
    """The manual pages worth rendering: regular files (no symlink, no second hard link) in man1..man8."""
    units, seen_inodes = [], set()
    for section in sections:
        folder = root / section
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.is_symlink() or not path.is_file() or _is_gcloud_subcommand(path.name):
                continue
            inode = path.stat()
            if (inode.st_dev, inode.st_ino) in seen_inodes:
                continue
            seen_inodes.add((inode.st_dev, inode.st_ino))
            name, ext = _man_name(path.name)
            units.append(Unit(key=f"man:{name}({ext})", group=section, path=path))
    return units


def _man_name(filename: str) -> tuple[str, str]:
    """`ls.1.gz` -> ("ls", "1"); `CA.pl.1ssl.gz` -> ("CA.pl", "1ssl")."""
    stem = filename
    for suffix in _COMPRESSORS:
        stem = stem.removesuffix(suffix)
    name, _, ext = stem.rpartition(".")
    return (name, ext) if name else (stem, "")


def _is_gcloud_subcommand(filename: str) -> bool:
    """`gcloud_compute_instances_create.1.gz`: one of ~16,000 generated pages of a single CLI."""
    return filename.startswith("gcloud_") and filename.count("_") > 1


def read_man_source(path: Path) -> str | None:
    """The page's roff source as text, or None for a `.so` stub (a page that only includes another)."""
    raw = path.read_bytes()
    decompress = _COMPRESSORS.get(path.suffix)
    if decompress:
        raw = decompress(raw)
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError:
        source = raw.decode("latin-1")  # old pages written before utf-8
    requests = [ln for ln in source.splitlines() if ln.strip() and not ln.startswith(('.\\"', "'\\\""))]
    if len(requests) <= 2 and any(ln.startswith(".so ") for ln in requests):
        return None
    return source


def render_man(source: str, cwd: Path = MAN_ROOT) -> str:
    """Plain text of a roff manual page (groff, fixed width, no header and footer line)."""
    done = subprocess.run(
        _GROFF,
        input=_PROLOGUE + source.encode("utf-8"),
        capture_output=True,
        cwd=cwd,  # `.so man7/x.7` inside a page resolves from the manual's root
        timeout=RENDER_TIMEOUT_S,
        env={**os.environ, "LC_ALL": "C.UTF-8"},
    )
    return clean_man_text(done.stdout.decode("utf-8", errors="replace"))


def clean_man_text(rendered: str) -> str:
    """Drop the running header/footer lines, rules, control characters, the common indent and blank runs."""
    rendered = rendered.replace("\u2010\n", "").replace("\u2010", "-").replace("\u2212", "-")
    lines = [_CONTROL.sub("", ln).rstrip() for ln in rendered.splitlines()]
    lines = [ln for ln in lines if not _RULE.match(ln)]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    if lines and _RUNNING_HEADER.search(lines[0]):
        lines.pop(0)
    if lines and _RUNNING_LINE.search(lines[-1]):
        lines.pop()
    text = "\n".join(re.sub(r"^ {1,7}", "", ln) for ln in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def man_title(text: str, fallback: str) -> str:
    """The NAME line ("ls - list directory contents"), else `fallback`."""
    match = re.search(r"^NAME\n(.+?)(?:\n\n|\n[A-Z][A-Z ]+\n)", text, re.S | re.M)
    if not match:
        return fallback
    title = " ".join(match.group(1).split())
    return title[:200] if title else fallback


def man_records(unit: Unit, max_chars: int) -> list[Record]:
    source = read_man_source(unit.path)
    if source is None:
        return []
    text = render_man(source, cwd=unit.path.parent.parent)
    return [
        Record(
            id=unit.key,
            text=cut(text, max_chars),
            title=man_title(text, unit.key.removeprefix("man:")),
            url=unit.key,
            group=unit.group,
            corpus="man",
        )
    ]


# ---------------------------------------------------------------- Python documentation

# the release notes: each section is about some other chapter's module, so their group says nothing
# of their topic
_BOOKS_SKIPPED = {"whatsnew"}
_SKIP_CLASSES = {"headerlink", "toctree-wrapper", "contents", "linenos", "sphinxsidebar", "related", "footer"}
_BLOCK_TAGS = {
    "p", "div", "pre", "dl", "dt", "dd", "ul", "ol", "li", "table", "tr", "blockquote",
    "section", "h1", "h2", "h3", "h4", "h5", "h6", "figure", "figcaption", "caption", "br", "hr", "nav",
}  # fmt: skip
_VOID_TAGS = {"br", "hr", "img", "meta", "link", "input", "wbr", "col", "area", "base", "source"}


def python_html_root() -> Path:
    for root in PYTHON_HTML_DIRS:
        if (root / "library" / "index.html").is_file():
            return root
    raise MissingSource(
        "the Python documentation is not installed: install the Debian package `python3-doc` "
        f"(apt-get install -y python3-doc); looked in {', '.join(map(str, PYTHON_HTML_DIRS))}"
    )


def python_units(root: Path) -> list[Unit]:
    """Every page of the Python books, with its group: the library chapter, or the book."""
    chapters = library_chapters((root / "library" / "index.html").read_text(encoding="utf-8"))
    units = []
    for path in sorted(root.glob("*/**/*.html")):
        rel = path.relative_to(root).as_posix()
        book = rel.split("/", 1)[0]
        if (
            book.startswith("_")
            or book in ("includes", *_BOOKS_SKIPPED)
            or path.name in ("index.html", "genindex.html")
        ):
            continue
        if book == "library":
            group = chapters.get(path.name)
            if group is None:  # a chapter's own index page, or a page no chapter lists
                continue
        else:
            group = book
        units.append(Unit(key=rel, group=group, path=path))
    return units


def library_chapters(index_html: str) -> dict[str, str]:
    """{page file name: chapter title} from library/index.html's table of contents.

    A chapter's pages are its second-level entries, and its own page is then only an index
    (skipped); a chapter without any (Built-in Functions) is its own page.
    """
    pages: dict[str, list[str]] = {}  # chapter title -> its pages
    own_page: dict[str, str] = {}
    chapter = None
    for level, href, title in re.findall(
        r'<li class="toctree-l(\d)"><a class="reference internal" href="([^"#]+)[^"]*">(.*?)</a>', index_html
    ):
        if level == "1":
            chapter = _strip_tags(title)
            own_page[chapter] = href
            pages[chapter] = []
        elif level == "2" and chapter:
            pages[chapter].append(href)
    chapters = {}
    for title, hrefs in pages.items():
        for href in hrefs or [own_page[title]]:
            chapters.setdefault(href, title)
    return chapters


def _strip_tags(html: str) -> str:
    from html import unescape

    return " ".join(unescape(re.sub(r"<[^>]+>", "", html)).split())


@dataclass
class Section:
    id: str
    heading: str = ""
    blocks: list[str] = field(default_factory=list)
    children: list["Section"] = field(default_factory=list)


class SphinxPage(HTMLParser):
    """The main text of a Sphinx HTML page as a tree of sections (navigation and sidebars dropped)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Section(id="")
        self._sections = [self.root]
        self._stack: list[str] = []  # the open elements
        self._body_depth = None  # depth of the stack where the main body div opened
        self._skip_depth = None
        self._pre = 0
        self._heading: list[str] | None = None
        self._buffer: list[str] = []
        self._li_prefix = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = set((attrs.get("class") or "").split())
        if tag not in _VOID_TAGS:
            self._stack.append(tag)
        depth = len(self._stack)
        if self._body_depth is None:
            if tag == "div" and "body" in classes and attrs.get("role") == "main":
                self._body_depth = depth
            return
        if self._skip_depth is not None:
            return
        if tag in ("script", "style") or classes & _SKIP_CLASSES:
            self._skip_depth = depth if tag not in _VOID_TAGS else None
            return
        if tag in _BLOCK_TAGS:
            self._flush()
        if tag == "section":
            section = Section(id=attrs.get("id") or "")
            self._sections[-1].children.append(section)
            self._sections.append(section)
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._heading = []
        elif tag == "pre":
            self._pre += 1
        elif tag == "li":
            self._li_prefix = True

    def handle_endtag(self, tag):
        if tag in _VOID_TAGS or tag not in self._stack:
            return
        while self._stack:  # close what the page left open inside this element
            depth = len(self._stack)
            top = self._stack.pop()
            self._close(top, depth)
            if top == tag:
                break

    def _close(self, tag: str, depth: int):
        if self._body_depth is None:
            return
        if self._skip_depth is not None:
            if depth == self._skip_depth:
                self._skip_depth = None
            return
        if depth == self._body_depth:
            self._flush()
            self._body_depth = -1  # the body is over; nothing after it counts
            return
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6") and self._heading is not None:
            heading = " ".join("".join(self._heading).split())
            if not self._sections[-1].heading:
                self._sections[-1].heading = heading
            else:
                self._sections[-1].blocks.append(heading)
            self._heading = None
        elif tag in _BLOCK_TAGS:
            self._flush()
        if tag == "section" and len(self._sections) > 1:
            self._sections.pop()
        elif tag == "pre":
            self._pre -= 1

    def handle_data(self, data):
        if self._body_depth is None or self._body_depth < 0 or self._skip_depth is not None:
            return
        if self._heading is not None:
            self._heading.append(data)
        else:
            self._buffer.append(data)

    def _flush(self):
        raw = "".join(self._buffer)
        self._buffer = []
        text = raw.strip("\n") if self._pre else " ".join(raw.split())
        if text.strip():
            if self._li_prefix:
                text = "- " + text
            self._sections[-1].blocks.append(text)
        self._li_prefix = self._li_prefix and not text.strip()


def parse_sphinx_page(html: str) -> Section:
    parser = SphinxPage()
    parser.feed(html)
    parser.close()
    return parser.root


def _section_text(section: Section) -> str:
    parts = [section.heading] if section.heading else []
    parts += section.blocks
    parts += [_section_text(child) for child in section.children]
    return "\n\n".join(p for p in parts if p)


@dataclass
class Chunk:
    anchor: str
    headings: list[str]
    text: str


def split_sections(section: Section, headings: list[str], limit: int = SECTION_CHARS) -> list[Chunk]:
    """A page as chunks of at most `limit` characters: whole sections where they fit, else each
    sub-section on its own (a long section without sub-sections is cut between paragraphs);
    neighbouring chunks shorter than MIN_CHARS are joined where the result still fits."""
    path = headings + [section.heading] if section.heading else headings
    whole = _section_text(section)
    if len(whole) <= limit:
        return [Chunk(section.id, path, whole)] if whole else []
    own = "\n\n".join(p for p in [section.heading, *section.blocks] if p)
    chunks = [Chunk(section.id, path, part) for part in _split_blocks(own, limit)] if section.blocks else []
    for child in section.children:
        chunks += split_sections(child, path, limit)
    return _join_small(chunks, limit)


def _split_blocks(text: str, limit: int) -> list[str]:
    parts, current = [], ""
    for block in text.split("\n\n"):
        block = cut(block, limit)
        if current and len(current) + 2 + len(block) > limit:
            parts.append(current)
            current = block
        else:
            current = f"{current}\n\n{block}" if current else block
    return parts + [current] if current else parts


def _join_small(chunks: list[Chunk], limit: int) -> list[Chunk]:
    joined: list[Chunk] = []
    for chunk in chunks:
        last = joined[-1] if joined else None
        small = last and (len(last.text) < MIN_CHARS or len(chunk.text) < MIN_CHARS)
        if small and len(last.text) + 2 + len(chunk.text) <= limit:
            last.text = f"{last.text}\n\n{chunk.text}"
            continue
        joined.append(Chunk(chunk.anchor, list(chunk.headings), chunk.text))
    return joined


def python_records(unit: Unit, max_chars: int) -> list[Record]:
    root = parse_sphinx_page(unit.path.read_text(encoding="utf-8", errors="replace"))
    page = root.children[0] if len(root.children) == 1 and not root.blocks else root
    records, seen_anchors = [], Counter()
    for chunk in split_sections(page, [], min(SECTION_CHARS, max_chars)):
        anchor = chunk.anchor if chunk.anchor and chunk.anchor != page.id else ""
        seen_anchors[anchor] += 1
        ref = unit.key + (f"#{anchor}" if anchor else "")
        if seen_anchors[anchor] > 1:  # a long section cut in parts
            ref += f"~{seen_anchors[anchor]}"
        records.append(
            Record(
                id=f"python:{ref}",
                text=cut(chunk.text, max_chars),
                title=" › ".join(chunk.headings) or unit.key,
                url=PYTHON_URL + unit.key + (f"#{anchor}" if anchor else ""),
                group=unit.group,
                corpus="python",
            )
        )
    return records


# ---------------------------------------------------------------- the corpus


def source_units(source: str) -> tuple[list[Unit], Callable[[Unit, int], list[Record]]]:
    if source == "man":
        if not any((MAN_ROOT / section).is_dir() for section in MAN_SECTIONS):
            raise MissingSource(
                f"no manual pages in {MAN_ROOT}: install the Debian packages `manpages` and `man-db`"
            )
        return man_units(MAN_ROOT), man_records
    if source == "python":
        return python_units(python_html_root()), python_records
    raise ValueError(f"unknown source {source!r}; choose from {', '.join(SOURCES)}")


def build_corpus(
    out: str | os.PathLike,
    sources: Iterable[str] = SOURCES,
    max_per_group: int | None = None,
    limit: int | None = None,
    max_chars: int = MAX_CHARS,
    groups: Iterable[str] | None = None,
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[tuple[str, str], dict]:
    """Write the corpus to `out` (jsonl) and return {(corpus, group): {"docs", "chars"}}.

    Args:
        sources: "man" and/or "python"; a missing package raises MissingSource naming it.
        max_per_group: at most this many documents per group (a fixed pseudo-random choice,
            the same every run); files are converted only until each group has enough.
        limit: at most this many documents in all (a prefix of the fixed order, which mixes groups).
        max_chars: longer texts are cut at a paragraph boundary.
        groups: keep only these groups (e.g. "man1", "Text Processing Services", "tutorial").
        workers: parallel conversions (default: all cores).
    """
    progress = progress or (lambda _msg: None)
    wanted = set(groups) if groups is not None else None
    records: list[Record] = []
    seen_texts: set[str] = set()
    dropped = Counter()
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        for source in sources:
            units, convert = source_units(source)
            units = [u for u in units if wanted is None or u.group in wanted]
            by_group: dict[str, list[Unit]] = defaultdict(list)
            for unit in sorted(units, key=lambda u: stable_hash(u.key)):
                by_group[unit.group].append(unit)
            progress(f"{source}: {len(units)} files in {len(by_group)} groups")
            for group in sorted(by_group):
                units = by_group[group]
                kept, done = _convert_group(
                    pool, units, convert, max_chars, max_per_group, seen_texts, dropped
                )
                records += kept
                progress(f"  {source} {group}: {len(kept)} docs from {done} of {len(units)} files")
    records.sort(key=lambda r: stable_hash(r.id))
    if limit is not None:
        records = records[:limit]
    table: dict[tuple[str, str], dict] = defaultdict(lambda: {"docs": 0, "chars": 0})
    with open(out, "wb") as f:
        for record in records:
            f.write(orjson.dumps(record.as_dict()) + b"\n")
            table[(record.corpus, record.group)]["docs"] += 1
            table[(record.corpus, record.group)]["chars"] += len(record.text)
    if dropped:
        progress("dropped: " + ", ".join(f"{k} {v}" for k, v in sorted(dropped.items())))
    return dict(sorted(table.items()))


def _convert_group(
    pool, units, convert, max_chars, max_per_group, seen_texts, dropped
) -> tuple[list[Record], int]:
    """Convert one group's files in their fixed order until it has `max_per_group` docs (all without);
    returns the documents and how many files were converted."""
    kept: list[Record] = []
    done = 0
    while done < len(units) and (max_per_group is None or len(kept) < max_per_group):
        if max_per_group is None:
            batch = len(units)
        else:  # as many files as should give the documents still missing, judging by those so far
            per_file = len(kept) / done if done and kept else 1.0
            batch = max(4, math.ceil((max_per_group - len(kept)) / per_file * 1.2))
        todo = units[done : done + batch]
        done += len(todo)
        for result in pool.map(lambda u: _safe(convert, u, max_chars), todo):
            if isinstance(result, str):
                dropped[result] += 1
                continue
            if not result:
                dropped["so_stub_or_empty"] += 1
            for record in result:
                if len(record.text) < MIN_CHARS:
                    dropped["short"] += 1
                elif record.text in seen_texts:
                    dropped["duplicate"] += 1
                else:
                    seen_texts.add(record.text)
                    kept.append(record)
    if max_per_group is not None:
        kept = sorted(kept, key=lambda r: stable_hash(r.id))[:max_per_group]
    return kept, done


def _safe(convert, unit: Unit, max_chars: int) -> list[Record] | str:
    """The unit's records, or the reason it could not be converted (one bad file never ends the build)."""
    try:
        return convert(unit, max_chars)
    except subprocess.TimeoutExpired:
        return "render_timeout"
    except (OSError, EOFError, lzma.LZMAError, ValueError) as error:
        return f"unreadable_{type(error).__name__}"


def format_table(table: dict[tuple[str, str], dict], seconds: float) -> str:
    rows = [f"{'corpus':<8} {'group':<40} {'docs':>6} {'chars':>11} {'mean':>6}"]
    for (corpus, group), row in table.items():
        rows.append(
            f"{corpus:<8} {group:<40} {row['docs']:>6} {row['chars']:>11,} {row['chars'] // row['docs']:>6}"
        )
    docs = sum(r["docs"] for r in table.values())
    chars = sum(r["chars"] for r in table.values())
    rows.append(
        f"{'total':<8} {f'{len(table)} groups':<40} {docs:>6} {chars:>11,} {chars // max(docs, 1):>6}"
    )
    rows.append(f"{seconds:.1f} s on {os.cpu_count()} cores")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="the jsonl file to write")
    parser.add_argument("--sources", default=",".join(SOURCES), help="comma-separated: man,python")
    parser.add_argument("--max-per-group", type=int, default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--max-chars", type=int, default=MAX_CHARS)
    parser.add_argument("--groups", default=None, help="comma-separated groups to keep (default: all)")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        parser.error(f"unknown source(s) {', '.join(unknown)}; choose from {', '.join(SOURCES)}")
    start = time.perf_counter()
    try:
        table = build_corpus(
            args.out,
            sources,
            max_per_group=args.max_per_group,
            limit=args.limit,
            max_chars=args.max_chars,
            groups=args.groups.split(",") if args.groups else None,
            workers=args.workers,
            progress=lambda msg: print(msg, file=sys.stderr, flush=True),
        )
    except MissingSource as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_table(table, time.perf_counter() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
