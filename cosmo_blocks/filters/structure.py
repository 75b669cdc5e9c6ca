"""Structural checks of two domains: science experiments (materials, steps, safety) and historical
event analyses (dates that agree with each other)."""

import datetime
import re
from collections import defaultdict
from typing import NamedTuple

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError

SCIENCE_FORMATS = ("science_experiment",)
HISTORY_FORMATS = ("history_analysis",)


def _format_set(formats) -> frozenset[str] | None:
    if formats is None:
        return None
    if isinstance(formats, str) or not formats:
        raise ConfigError(f"formats must be a list of format names or None, not {formats!r}")
    return frozenset(f.lower() for f in formats)


class _DomainFilter(BaseFilter):
    """Checks only documents of its own formats; the others pass untouched, counted `other_format`."""

    def __init__(self, formats, exclusion_writer: DiskWriter | None):
        super().__init__(exclusion_writer)
        self.formats = _format_set(formats)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if self.formats is not None and str(doc.metadata.get(keys.FORMAT) or "").lower() not in self.formats:
            self.stat_update("other_format")
            return True
        reason = self.check(doc.text)
        return True if reason is None else (False, reason)

    def check(self, text: str) -> str | None:
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# Science experiments

_MATERIALS = (
    r"materials?|supplies|equipment|apparatus|ingredients|what you(?:'ll|’ll| will) need|you(?:'ll|’ll| will) need"
    r"|things you need|재료|준비물|실험\s*도구|필요한\s*(?:것|물건|재료|도구)"
)
_STEPS = r"procedure|method|steps?|instructions|directions|what to do|how to do it|방법|과정|순서|절차"
_SAFETY = re.compile(
    r"safety|safe(?:ly)?\b|caution|warning|precaution|careful|goggles|gloves|supervis|hazard|danger"
    r"|ask an adult|an adult'?s help|with an adult|grown-up|주의|안전|조심|위험|보호\s*안경|장갑|어른",
    re.IGNORECASE,
)
_ORDERED_ITEM = re.compile(r"^\s*(?:\d{1,2}[.)]|step\s+\d+|\d+\s*단계)", re.IGNORECASE | re.MULTILINE)
_BULLET_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,2}[.)])\s+\S", re.MULTILINE)


def _label(words: str) -> re.Pattern:
    """A line that names a section: a Markdown heading, a bold line, or the words before a colon."""
    return re.compile(
        rf"^\s*(?:#{{1,6}}\s*.*?(?:{words})|\*\*[^*\n]*?(?:{words})[^*\n]*\*\*\s*:?\s*$"
        rf"|[^\n:：]{{0,40}}?(?:{words})[^\n:：]{{0,20}}[:：])",
        re.IGNORECASE | re.MULTILINE,
    )


_MATERIALS_LABEL = _label(_MATERIALS)
_STEPS_LABEL = _label(_STEPS)
_NEED_LIST = re.compile(
    rf"(?:{_MATERIALS})[^\n]*\n(?:\s*\n)?(?:\s*(?:[-*+•]|\d{{1,2}}[.)])\s+\S)", re.IGNORECASE
)


class ScienceExperimentFilter(_DomainFilter):
    """Drop science experiments that lack a part a reader needs to do them safely.

    Reasons, in this order (each only if named in `require`):
    - `missing_materials`: no materials section: a heading, bold line or "Label:" naming materials,
      supplies, equipment, ingredients, "you will need", 재료, 준비물 ...; or such words
      introducing a list on the next line.
    - `missing_steps`: no procedure: a heading or label naming the procedure, method, steps,
      instructions, 방법, 과정, 순서 ..., and no ordered list of 3 items or more.
    - `missing_safety`: no safety note anywhere: safety, caution, warning, careful, goggles, adult
      supervision, 주의, 안전, 조심, 위험 ... (in prose too: a short note is enough).
    """

    name = "🧪 Science experiment"

    def __init__(
        self,
        formats: tuple[str, ...] | list[str] | None = SCIENCE_FORMATS,
        require: tuple[str, ...] | list[str] = ("materials", "steps", "safety"),
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(formats, exclusion_writer)
        unknown = set(require) - {"materials", "steps", "safety"}
        if unknown:
            raise ConfigError(f"require: unknown parts {sorted(unknown)}; use materials, steps, safety")
        self.require = tuple(require)

    def check(self, text: str) -> str | None:
        if "materials" in self.require and not has_materials(text):
            return "missing_materials"
        if "steps" in self.require and not has_steps(text):
            return "missing_steps"
        if "safety" in self.require and not _SAFETY.search(text):
            return "missing_safety"
        return None


def has_materials(text: str) -> bool:
    return bool(_MATERIALS_LABEL.search(text) or _NEED_LIST.search(text))


def has_steps(text: str) -> bool:
    return bool(_STEPS_LABEL.search(text)) or len(_ORDERED_ITEM.findall(text)) >= 3


# ---------------------------------------------------------------------------------------------
# Historical event analysis

_YEAR = r"(1[0-9]{3}|20[0-9]{2})"
_FOUR_DIGITS = re.compile(r"\d{4}")
_ERA = re.compile(r"^\s*(?:B\.?C\.?E?\b|BCE\b|기원전)", re.IGNORECASE)
_START_VERBS = (
    r"began|started|broke out|commenced|erupted|was founded|was established|was born|was formed"
    r"|was launched|was signed"
)
_END_VERBS = r"ended|concluded|came to an end|was dissolved|was abolished|died|finished"
_PAST_VERBS = (
    rf"{_START_VERBS}|{_END_VERBS}|took place|occurred|happened|was fought|was crowned|was elected"
    r"|was assassinated|was invented|was published|was built|was completed|was ratified"
)
# "World War I began in 1914", "it ended on November 11, 1918", "began in the summer of 1914"
_DATED_VERB = re.compile(
    rf"\b(?P<verb>{_PAST_VERBS})\s+(?:in|on|around|during|by)\s+"
    rf"(?:(?:the\s+)?(?:early|late|mid|summer|winter|spring|autumn|fall|year)\b[\w-]*\s+(?:of\s+)?)?"
    rf"(?:[A-Z][a-z]+\.?\s+)?(?:\d{{1,2}}(?:st|nd|rd|th)?,?\s+)?{_YEAR}\b(?!\s*(?:BC|B\.C|BCE))",
)
# "World War I (1914–1918)", "the Korean War (1950-53)": the span, then the name just before it
_SPAN = re.compile(rf"\(\s*(?:c\.\s*)?{_YEAR}\s*[–—-]\s*(?P<end>\d{{2,4}})\s*\)")
_NAME_BEFORE = re.compile(r"(?P<subj>(?:[A-Z][\w'’-]*\s+){0,4}[A-Z][\w'’-]*)\s*$")
# "from 1918 to 1914", "between 1918 and 1914", "1918–1914", "1918년부터 1914년까지"
_RANGE = re.compile(
    rf"(?:\bfrom\s+{_YEAR}\s+(?:to|until|till)\s+{_YEAR}|\bbetween\s+{_YEAR}\s+and\s+{_YEAR}"
    rf"|(?<![\d/.-]){_YEAR}\s*[–—-]\s*{_YEAR}(?![\d/.-])|{_YEAR}년\s*부터\s*{_YEAR}년\s*까지)"
)
_CLAUSE_BREAK = re.compile(
    r"[,;:()\"“”]|\b(?:when|after|before|while|and|but|that|which|as|since|until|so)\b", re.I
)
_LIFE_PRONOUNS = frozenset({"he", "she", "who", "they"})
_EVENT_PRONOUNS = frozenset({"it", "this", "which", "that", "they"})
_PRONOUNS = _LIFE_PRONOUNS | _EVENT_PRONOUNS
_DETERMINERS = re.compile(r"^(?:the|a|an|this|that|these|those)\s+", re.IGNORECASE)
_ASSERTIVE = re.compile(r"\b(?:may|might|could|would|if|whether|not|never|claim|myth|some say)\b", re.I)


class HistoricalDatesFilter(_DomainFilter):
    """Drop historical analyses whose dates contradict each other.

    Only checks that rarely misfire on a sound text, in this order:
    - `end_before_start`: a span that ends before it starts: "from 1918 to 1914", "between 1945
      and 1939", "1918–1914", "World War I (1918–1914)", "1918년부터 1914년까지", or one subject
      that "ended"/"died" in a year before it "began"/"was born". Spans with BC/BCE are skipped
      (they count down); "1950-53" and "1998–02" read as 1953 and 2002.
    - `inconsistent_dates`: one subject given two different start years ("World War I began in
      1914 ... World War I began in 1916"; or a name's span "(1914–1918)" against "began in
      1916"), or two different end years. "Lincoln" is "Abraham Lincoln" when the text names one
      such; "he"/"she" the one person whose birth or death it dates, "it"/"this" the one other
      subject it dates a start or end of. A sentence that says "may", "not", "claim" ... is not
      taken as a statement of date.
    - `future_date`: an event stated in the past tense ("took place in", "was signed in", "died
      in" ...) in a year after `latest_year` (default: the current year).
    Anachronisms beyond these (an invention before its inventor's birth...) need world knowledge
    and are not checked.
    """

    name = "📜 Historical dates"

    def __init__(
        self,
        formats: tuple[str, ...] | list[str] | None = HISTORY_FORMATS,
        latest_year: int | None = None,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(formats, exclusion_writer)
        self.latest_year = latest_year if latest_year is not None else datetime.date.today().year

    def check(self, text: str) -> str | None:
        if not _FOUR_DIGITS.search(text):
            return None
        if _reversed_range(text):
            return "end_before_start"
        events = _resolve(_dated_events(text))
        starts, ends = _by_subject(events, "start"), _by_subject(events, "end")
        for subject in starts.keys() & ends.keys():
            if max(ends[subject]) < min(starts[subject]):
                return "end_before_start"
        if any(len(years) > 1 for years in (*starts.values(), *ends.values())):
            return "inconsistent_dates"
        if any(e.stated and e.year > self.latest_year for e in events):
            return "future_date"
        return None


def _full_year(start: int, end: str) -> int:
    """ "1950-53" -> 1953; "1998–02" -> 2002 (a two-digit end lies in the start's century or the next)."""
    if len(end) >= 3:
        return int(end)
    year = start - start % 100 + int(end)
    return year if year >= start else year + 100


def _reversed_range(text: str) -> bool:
    for match in _RANGE.finditer(text):
        a, b = (int(y) for y in match.groups() if y)
        if b < a and not _ERA.match(text[match.end() : match.end() + 8]):
            return True
    for match in _SPAN.finditer(text):
        if _full_year(int(match.group(1)), match.group("end")) < int(match.group(1)):
            return True
    return False


class _Event(NamedTuple):
    subject: str
    kind: str  # "start", "end" or "past"
    year: int
    life: bool  # born/died: "he"/"she" may stand for its subject, not "it"
    stated: bool  # a sentence says it happened (a name's span "(1914–1918)" does not)


def _dated_events(text: str) -> list[_Event]:
    """Each dated statement and each name's span."""
    events = []
    for sentence in re.split(r"(?<=[.!?。])\s+|\n+", text):
        if _ASSERTIVE.search(sentence):
            continue
        for match in _DATED_VERB.finditer(sentence):
            verb = match.group("verb")
            kind = (
                "start"
                if re.fullmatch(_START_VERBS, verb)
                else "end"
                if re.fullmatch(_END_VERBS, verb)
                else "past"
            )
            life = verb in ("was born", "died")
            events.append(_Event(_subject(sentence[: match.start()]), kind, int(match.group(2)), life, True))
        for match in _SPAN.finditer(sentence):
            name = _NAME_BEFORE.search(sentence, max(0, match.start() - 80), match.start())
            if not name:
                continue
            start, subject = int(match.group(1)), _normal(name.group("subj"))
            if not subject:
                continue
            events.append(_Event(subject, "start", start, False, False))
            events.append(_Event(subject, "end", _full_year(start, match.group("end")), False, False))
    return events


def _subject(before: str) -> str:
    """The words before the verb, back to the start of their clause: "the war", "World War I", "it"."""
    clause = _CLAUSE_BREAK.split(before)[-1]
    words = clause.split()[-4:]
    return _normal(" ".join(words))


def _normal(subject: str) -> str:
    subject = re.sub(r"\s+(?:had|has|was|were|officially|finally|first|also)$", "", subject.strip())
    return _DETERMINERS.sub("", subject.lower()).strip()


def _resolve(events: list[_Event]) -> list[_Event]:
    """Name each event's subject in full. A short name joins the one longer name it ends
    ("Lincoln" -> "abraham lincoln", "the war" -> "korean war"). A pronoun, or the missing subject
    of "and died in 1865", stands for the only subject the text names for births and deaths ("he",
    "she", "who", "they") or for other starts and ends ("it", "this", "which", "they"); where there
    are several, its event is left out."""
    named = {e.subject for e in events if e.kind != "past" and e.subject and e.subject not in _PRONOUNS}
    full = {}
    for name in named:
        longer = [other for other in named if other != name and other.endswith(" " + name)]
        full[name] = longer[0] if len(longer) == 1 else name
    only = {
        life: {full[e.subject] for e in events if e.life == life and e.subject in full and e.kind != "past"}
        for life in (True, False)
    }
    out = []
    for event in events:
        subject = event.subject
        if not subject or subject in _PRONOUNS:
            pronouns = _LIFE_PRONOUNS if event.life else _EVENT_PRONOUNS
            if (subject and subject not in pronouns) or len(only[event.life]) != 1:
                continue
            (subject,) = only[event.life]
        out.append(event._replace(subject=full.get(subject, subject)))
    return out


def _by_subject(events: list[_Event], kind: str) -> dict[str, set[int]]:
    """The years given for each subject's start (or end)."""
    years: dict[str, set[int]] = defaultdict(set)
    for event in events:
        if event.kind == kind:
            years[event.subject].add(event.year)
    return years
