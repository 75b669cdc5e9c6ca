"""Check step-by-step math solutions: the stated final answer, the arithmetic behind it, a known answer.

sympy does the parsing and the comparisons; it is imported inside the functions that use it, so this
module costs nothing to import where no math is checked.
"""

import importlib.util
import math
import random
import re
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError

DEFAULT_FORMATS = ("math_solution",)
INSTALL_HINT = "pip install sympy  (or: pip install 'cosmo-blocks[math]')"

# "Final answer: 84", "**The answer is** $84$.", "Answer = 84", "정답: 84", "따라서 답은 84입니다."
_ANSWER_MARKER = re.compile(
    r"(?:\bfinal\s+answer|\b(?:the\s+)?answer|(?:최종\s*)?(?:정답|(?<![가-힣])답))\s*(?:\*\*|__)?\s*"
    r"(?:is\b|:|=|은|는|：)\s*(?:\*\*|__)?[ \t]*",
    re.IGNORECASE,
)
_BOXED = re.compile(r"\\boxed\s*\{")
# What may stand in an answer or an equation once LaTeX is rewritten (letters only as names below)
_SAFE = re.compile(r"^[0-9a-zA-Z+\-*/^().\s]*$")
_NAMES = frozenset({"sqrt", "pi", "sin", "cos", "tan", "log", "ln", "exp", "oo"})
_LEADING_NUMBER = re.compile(r"^[-+]?\d+(?:\.\d+)?(?:\s*/\s*\d+(?:\.\d+)?)?%?")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)]|step\s+\d+\s*[:.)]|\d+단계\s*[:.)]?)\s+", re.I)
# A run of arithmetic: numbers, operators, brackets, sqrt/pi, "=" and "≈"
_RUN = re.compile(r"(?:sqrt|pi|[\d.\s+\-*/^()%=≈])+")
_OPERATOR = re.compile(r"[+*/^]|(?<=[\d)])\s*-|sqrt")
_E_NOTATION = re.compile(r"(\d)[eE]([+-]?\d+)")
_DECIMALS = re.compile(r"\d+\.(\d+)")
_MAX_CHARS = 200
_MAX_EXPONENT = 1000
_MAX_DIGITS = 10000


@dataclass
class Equation:
    """A chain `a = b = c` found in the text: its sides' values and numbers, whether it holds, and whether other
    numbers follow it (then its result need not be the answer)."""

    values: list
    holds: bool
    numbers_after: bool


class MathAnswerFilter(BaseFilter):
    """Drop math solutions whose arithmetic or final answer is wrong, where that can be checked.

    Applies to documents whose metadata `format` is one of `formats` (all documents when None);
    others pass untouched (counted `other_format`).

    The stated final answer is, in this order: the last `\\boxed{...}`; else the last "final
    answer: X" / "the answer is X" / "answer = X" / "정답: X" / "답은 X"; else the right side of an
    "=" on the last non-empty line. It is parsed as a number or an expression: plain text
    (`3/4`, `2*sqrt(3)`, `x^2 + 1`, `25%`, `1,200`) or the LaTeX subset `\\frac \\dfrac \\tfrac
    \\sqrt \\sqrt[n] \\times \\cdot \\div \\pi \\left \\right ^{...} \\%`, with `$`, `\\text{...}`
    and units around a leading number dropped. sympy's `parse_latex` is not used: it needs antlr4
    (its lark backend parses less than this subset, e.g. no `\\pi`, and costs a second to load).

    Reasons, in this order:
    - `arithmetic_mismatch`: the last equation made only of numbers (`12 \\times 7 = 86`,
      `3 + 4 = 7 = 8`) does not hold. A side written as a decimal is allowed one unit of its last
      place (`22/7 = 3.14`), an integer written for a fraction any rounding (`7/2 = 3` is kept).
    - `answer_inconsistent`: the stated answer is a number that differs from that equation's
      result although no other number stands between the equation and the answer.
    - `no_final_answer` (unless `require_answer=False`): nothing above states an answer.
    - `answer_mismatch`: the metadata field `answer_key` holds the seed's known answer (a number,
      an expression, or GSM8K's "... #### 72") and the stated answer differs: numbers within the
      stated answer's precision; expressions equal when they agree at random points or
      `simplify(a - b) == 0` within `timeout` seconds, and different only when they disagree at
      a point where both are finite.
    Answers that cannot be parsed or compared are kept and counted (`answer_unchecked`); checked
    ones are counted `answer_checked`.
    """

    name = "🧮 Math answer"

    def __init__(
        self,
        formats: tuple[str, ...] | list[str] | None = DEFAULT_FORMATS,
        answer_key: str = keys.ANSWER,
        require_answer: bool = True,
        timeout: float = 2.0,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer)
        if formats is not None and (isinstance(formats, str) or not formats):
            raise ConfigError(f"formats must be a list of format names or None, not {formats!r}")
        if timeout <= 0:
            raise ConfigError(f"timeout must be positive seconds, not {timeout!r}")
        if importlib.util.find_spec("sympy") is None:
            raise ConfigError(
                f"MathAnswerFilter checks answers with sympy, which is not installed: {INSTALL_HINT}"
            )
        self.formats = None if formats is None else frozenset(f.lower() for f in formats)
        self.answer_key = answer_key
        self.require_answer = require_answer
        self.timeout = timeout

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if self.formats is not None and str(doc.metadata.get(keys.FORMAT) or "").lower() not in self.formats:
            self.stat_update("other_format")
            return True
        text = doc.text
        stated = final_answer(text)
        equation = last_equation(text)
        if equation is not None and not equation.holds:
            return False, "arithmetic_mismatch"
        if stated is None:
            return (False, "no_final_answer") if self.require_answer else True
        raw, start = stated
        value = parse_math(raw)
        before = last_equation(text[:start])
        if (
            before is not None
            and not before.numbers_after
            and value is not None
            and _contradicts(value, before, raw)
        ):
            return False, "answer_inconsistent"
        known = doc.metadata.get(self.answer_key)
        if known is None or str(known).strip() == "":
            self.stat_update("answer_checked" if value is not None else "answer_unchecked")
            return True
        verdict = None if value is None else _same(value, parse_known(known), raw, self.timeout)
        self.stat_update("answer_unchecked" if verdict is None else "answer_checked")
        return (False, "answer_mismatch") if verdict is False else True


def final_answer(text: str) -> tuple[str, int] | None:
    """The stated final answer's text and where its statement starts, or None (see the class doc)."""
    boxes = list(_BOXED.finditer(text))
    if boxes:
        box = boxes[-1]
        inner = _braced(text, box.end() - 1)
        if inner is not None:
            return inner, box.start()
    markers = list(_ANSWER_MARKER.finditer(text))
    if markers:
        marker = markers[-1]
        rest = text[marker.end() :]
        line = rest.split("\n", 1)[0].strip()
        if not line:  # "**Answer:**" on its own line, the answer on the next
            line = next((ln.strip() for ln in rest.split("\n") if ln.strip()), "")
        if line:
            return _first_sentence(line), marker.start()
    lines = [ln for ln in text.rstrip().split("\n") if ln.strip()]
    if lines and "=" in lines[-1]:
        last = lines[-1]
        return _first_sentence(last.rsplit("=", 1)[1].strip()), text.rstrip().rfind(last)
    return None


def _braced(text: str, open_at: int) -> str | None:
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[open_at + 1 : i]
    return None


def _first_sentence(line: str) -> str:
    # a period ends the answer only when no digit follows it ("3.5." -> "3.5")
    return re.split(r"\.(?!\d)(?=\s|$|\*|\$)", line, maxsplit=1)[0].strip()


def parse_known(known) -> object | None:
    """A seed's known answer: a number, an expression, or text ending in GSM8K's "#### 72"."""
    if isinstance(known, bool):
        return None
    if isinstance(known, int | float):
        import sympy

        return sympy.nsimplify(known) if isinstance(known, float) else sympy.Integer(known)
    text = str(known)
    if "####" in text:
        text = text.rsplit("####", 1)[1]
    stated = final_answer(text) if ("\\boxed" in text or "answer" in text.lower()) else None
    return parse_math(stated[0] if stated else text)


def to_plain(text: str) -> str:
    """Rewrite the LaTeX subset and typographic signs into sympy's plain syntax."""
    s = text.replace("\\$", "").replace("$", "")
    for old, new in (("\\left", ""), ("\\right", ""), ("\\dfrac", "\\frac"), ("\\tfrac", "\\frac")):
        s = s.replace(old, new)
    s = re.sub(r"\\(?:text|mathrm|mbox|textbf|operatorname)\s*\{[^{}]*\}", " ", s)
    s = re.sub(r"\\[,;:! ]|\\quad|\\qquad|~", " ", s)
    s = _rewrite_fracs(s)
    s = _rewrite_roots(s)
    for old, new in (
        ("\\times", "*"),
        ("\\cdot", "*"),
        ("\\div", "/"),
        ("\\pi", " pi "),
        ("\\infty", " oo "),
        ("\\%", "%"),
        ("×", "*"),
        ("·", "*"),
        ("÷", "/"),
        ("−", "-"),
        ("–", "-"),
        ("π", " pi "),
        ("√", "sqrt"),
        ("°", ""),
        ("{", "("),
        ("}", ")"),
    ):
        s = s.replace(old, new)
    s = _THOUSANDS.sub("", s)
    return re.sub(r"(\d+(?:\.\d+)?)\s*%", r"(\1/100)", s)


def _rewrite_fracs(s: str) -> str:
    while (at := s.find("\\frac")) >= 0:
        i = at + len("\\frac")
        while i < len(s) and s[i] == " ":
            i += 1
        num = _braced(s, i) if i < len(s) and s[i] == "{" else None
        if num is None:
            return s.replace("\\frac", "", 1)
        j = i + len(num) + 2
        den = _braced(s, j) if j < len(s) and s[j] == "{" else None
        if den is None:  # \frac12
            if j + 1 < len(s) + 1 and re.match(r"\d", s[j : j + 1] or ""):
                den, end = s[j], j + 1
            else:
                return s.replace("\\frac", "", 1)
        else:
            end = j + len(den) + 2
        s = f"{s[:at]}(({num})/({den})){s[end:]}"
    return s


def _rewrite_roots(s: str) -> str:
    while (at := s.find("\\sqrt")) >= 0:
        i = at + len("\\sqrt")
        degree = None
        if s[i : i + 1] == "[":
            close = s.find("]", i)
            if close < 0:
                return s.replace("\\sqrt", "sqrt", 1)
            degree, i = s[i + 1 : close], close + 1
        body = _braced(s, i) if s[i : i + 1] == "{" else None
        if body is None:
            s = s[:at] + "sqrt" + s[i:]
            continue
        end = i + len(body) + 2
        root = f"(({body})**(1/({degree})))" if degree else f"sqrt({body})"
        s = s[:at] + root + s[end:]
    return s


def parse_math(text: str, symbols: bool = True) -> object | None:
    """A sympy value for `text` (see `to_plain`), or None when it is not one we can read safely.

    Only digits, operators, brackets, the names in `_NAMES` and (with `symbols`) one-letter
    variables get to sympy's parser, so nothing else in a generated text is ever evaluated; huge
    powers and numbers are refused before sympy evaluates them.
    """
    plain = to_plain(text).strip().rstrip(".,;:")
    plain = plain.rsplit("=", 1)[-1].strip()
    if not plain:
        return None
    value = _parse_plain(plain, symbols)
    if value is None:  # "84 apples", "3/4 of the pizza": the leading number, when words follow it
        words = to_plain(text).strip().rsplit("=", 1)[-1].strip()
        lead = _LEADING_NUMBER.match(words)
        if lead and not re.search(r"[\d+\-*/^=()]", words[lead.end() :]):
            value = _parse_plain(to_plain(lead.group()), symbols)
    return value


def _parse_plain(plain: str, symbols: bool) -> object | None:
    # "1e999999" is a float literal Python would build before any check: make it a power to check
    plain = _E_NOTATION.sub(r"\1*10**(\2)", plain)
    if len(plain) > _MAX_CHARS or not _SAFE.match(plain) or re.search(r"\d{31}", plain):
        return None
    names = set(re.findall(r"[A-Za-z]+", plain))
    letters = {n for n in names if n not in _NAMES}
    if letters and (not symbols or any(len(n) > 1 for n in letters)):
        return None
    import sympy
    from sympy.parsing.sympy_parser import (
        convert_xor,
        implicit_multiplication_application,
        parse_expr,
        standard_transformations,
    )

    namespace = {
        "Integer": sympy.Integer,
        "Float": sympy.Float,
        "Rational": sympy.Rational,
        "Symbol": sympy.Symbol,
        "Add": sympy.Add,
        "Mul": sympy.Mul,
        "Pow": sympy.Pow,
        "sqrt": sympy.sqrt,
        "pi": sympy.pi,
        "oo": sympy.oo,
        "sin": sympy.sin,
        "cos": sympy.cos,
        "tan": sympy.tan,
        "log": sympy.log,
        "ln": sympy.log,
        "exp": sympy.exp,
    }
    transformations = (*standard_transformations, convert_xor)
    if symbols:
        transformations = (*transformations, implicit_multiplication_application)
    local = {n: sympy.Symbol(n) for n in letters}
    try:
        raw = parse_expr(
            plain, local_dict=local, global_dict=namespace, transformations=transformations, evaluate=False
        )
        if not isinstance(raw, sympy.Basic) or not _small(raw):
            return None
        return parse_expr(plain, local_dict=local, global_dict=namespace, transformations=transformations)
    except Exception:  # sympy raises many types on malformed input; unreadable is not an error here
        return None


def _small(expr) -> bool:
    """No power sympy would work on for minutes: numeric exponents up to `_MAX_EXPONENT`, numeric
    powers up to `_MAX_DIGITS` digits ("2^100000", "9^9^9", "(999^999)^999" are refused)."""
    import sympy

    for node in sympy.preorder_traversal(expr):
        if not isinstance(node, sympy.Pow) or node.exp.free_symbols:
            continue
        try:
            size = abs(complex(node.exp.evalf(5)))
            base = abs(complex(node.base.evalf(5))) if not node.base.free_symbols else 0.0
        except (TypeError, ValueError, OverflowError):
            return False
        if not size <= _MAX_EXPONENT:
            return False
        if base > 1 and not size * math.log10(base) <= _MAX_DIGITS:
            return False
    return True


def last_equation(text: str) -> Equation | None:
    """The last chain of equal sides made only of numbers in `text`."""
    found = None
    for line in text.split("\n"):
        line_found = None
        for line_found in _line_equations(line):  # noqa: B007 - the last one is kept
            pass
        if line_found is not None:
            found = line_found
        elif found is not None and re.search(r"\d", line):
            found.numbers_after = True
    return found


def _line_equations(line: str):
    marker = _LIST_MARKER.match(line)
    body = line[marker.end() :] if marker else line
    if "=" not in body and "≈" not in body:
        return
    import sympy

    # a full stop (not a decimal point) ends an equation: "5 * 3 = 15. 12 + 3 = 15"
    plain = re.sub(r"\.(?!\d)", " ; ", to_plain(body))
    for run in _RUN.finditer(plain):
        chain = _chain(plain, run)
        if chain is None:
            continue
        sides = [s.strip().rstrip(".") for s in re.split(r"=|≈", chain)]
        if len(sides) < 2 or not all(sides) or not _OPERATOR.search(sides[0].lstrip("-")):
            continue
        values = [parse_math(s, symbols=False) for s in sides]
        if any(v is None or v.free_symbols for v in values):
            continue
        holds = all(
            _numbers_agree(a, b, side) for a, b, side in zip(values, values[1:], sides[1:], strict=False)
        )
        after = bool(re.search(r"\d", plain[run.end() :]))
        literals = [sympy.Rational(n) for n in re.findall(r"\d+(?:\.\d+)?", chain)]
        yield Equation(values=values + literals, holds=holds, numbers_after=after)


def _chain(plain: str, run: re.Match) -> str | None:
    """The equation in an arithmetic run, or None when the run is the tail of something else."""
    raw = run.group()
    chain = raw.strip()
    if "=" not in chain and "≈" not in chain:
        return None
    start, end = run.start(), run.end()
    before = plain[:start].rstrip()
    # "2x + 3 = 7", "f(2) = 4": the run continues a term with letters
    glued = not raw[0].isspace() and start and (plain[start - 1].isalpha() or plain[start - 1] in "_\\")
    if glued and not chain.startswith("="):
        return None
    if end < len(plain) and not raw[-1].isspace() and (plain[end].isalpha() or plain[end] in "_\\"):
        return None
    if chain[0] in "=≈":  # "Total = 3 * 4 = 12": the named left side is dropped, the rest must hold
        chain = chain[1:].lstrip()
    elif chain[0] in "+*/^)" or (chain[0] == "-" and before and (before[-1].isalnum() or before[-1] == ")")):
        return None
    return chain.rstrip("=≈ ").rstrip(".")


def _numbers_agree(a, b, written: str) -> bool:
    """Whether `a` equals `b` as written: one unit of a decimal's last place, any rounding to an
    integer, else a relative 1e-9."""
    try:
        x, y = complex(a.evalf()), complex(b.evalf())
    except (TypeError, ValueError):
        return True  # cannot tell; only what is surely wrong is dropped
    if not all(map(math.isfinite, (x.real, x.imag, y.real, y.imag))):
        return True
    diff = abs(x - y)
    literal = re.fullmatch(r"-?\d+(?:\.(\d+))?", written.strip())
    if literal and literal.group(1):
        return diff <= 10 ** -len(literal.group(1)) * 1.000001
    if literal and abs(x.imag) < 1e-12 and not float(x.real).is_integer():
        return diff < 1
    return diff <= 1e-9 * max(1.0, abs(x), abs(y))


def _contradicts(value, equation: Equation, written: str) -> bool:
    """The answer is a number that is neither a side nor a number of the equation before it: a
    check such as "84 / 12 = 7" under the answer 84 holds it, so it does not contradict."""
    if value.free_symbols:
        return False
    verdicts = [_same(value, side, written, 1.0) for side in equation.values]
    return all(verdict is False for verdict in verdicts)


def _same(stated, known, written: str, timeout: float) -> bool | None:
    """True equal, False different, None when it cannot be told."""
    if known is None:
        return None
    try:
        with _time_limit(timeout):
            if not stated.free_symbols and not known.free_symbols:
                return _same_number(stated, known, written)
            return _same_expression(stated, known)
    except Exception:  # a timeout or sympy failing on an odd expression: unchecked, never a crash
        return None


def _same_number(stated, known, written: str) -> bool | None:
    x, y = complex(stated.evalf()), complex(known.evalf())
    if not all(map(math.isfinite, (x.real, x.imag, y.real, y.imag))):
        return None
    places = [len(m) for m in _DECIMALS.findall(written)]
    tol = 10 ** -max(places) * 1.000001 if places else 0.0
    return abs(x - y) <= max(tol, 1e-9 * max(1.0, abs(x), abs(y)))


def _same_expression(stated, known) -> bool | None:
    import sympy

    variables = sorted(stated.free_symbols | known.free_symbols, key=str)
    rng = random.Random(0)
    differs = agrees = 0
    for _ in range(4):
        point = {v: sympy.Float(rng.uniform(0.5, 3.0)) for v in variables}
        try:
            x, y = complex(stated.subs(point).evalf()), complex(known.subs(point).evalf())
        except (TypeError, ValueError):
            continue
        if not all(map(math.isfinite, (x.real, x.imag, y.real, y.imag))):
            continue
        if abs(x - y) <= 1e-9 * max(1.0, abs(x), abs(y)):
            agrees += 1
        else:
            differs += 1
    if differs == 0 and agrees:
        return True
    if sympy.simplify(stated - known) == 0:
        return True
    return False if differs else None


class _Timeout(Exception):
    pass


@contextmanager
def _time_limit(seconds: float):
    """Interrupt sympy after `seconds` where a timer signal can (the main thread of a Unix
    process, as in datatrove's task processes); elsewhere the input size bounds the work."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def expire(signum, frame):
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
