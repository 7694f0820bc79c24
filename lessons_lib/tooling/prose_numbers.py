"""Numbers in a lesson's prose must come from its outputs.

A lesson says "the loss stays below 10⁻⁶ from step 49" because a cell printed it. When the code
changes and the notebook is re-executed, the printed 49 may become 52 while the sentence still
says 49. This module finds such sentences: it reads every number in a notebook's markdown and
looks for it among the numbers the notebook's cells print and the numbers its code contains.

What counts as a number in the prose: decimals (0.039, 7,080), scientific notation (9.6e-7,
1.2 × 10⁻³, 10⁻⁸), percentages, and the words of tens and hundreds ("thirty", "two hundred",
"tenfold"). What is skipped: math between $ signs, `code`, links, headings, single-digit
integers (counts and list numbers: "two cases", "step 1"), years, and references
("lesson 08", "section 6.4", "exercise 3").

A prose number matches an output or code number that rounds to it at the precision it is
written with: "0.04" matches a printed 0.0391, "9.6e-7" matches 9.63e-07, "tenfold" matches
a printed 10.2 but not 9.4 (words match at one significant figure), "80 %" matches 80 or 0.8.
Every number must be printed by one of the code cells around its sentence (the four above, the
two below), or repeat a number that earlier prose tied to an output. A recap may recall any
output above it: a cell under a "Summary" or "checklist" heading, or one that starts with the
invisible marker ``<!-- recap -->``. A setting ("with η = 0.1") may instead be written in the
code; a measured number, one the prose qualifies ("about thirty", "at least 7000", "within
0.005", "9.4 times", "tenfold"), may not (bounds match a printed value on their side of them,
within a factor of ten).

    python -m lessons_lib.tooling.prose_numbers notebooks/*.ipynb

lists, per notebook, every prose number with no match (tests/test_prose_numbers.py fails on
them, except those its allowlist names with a reason).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")

#: Words for quantities (single digits are left out, like single-digit numerals).
NUMBER_WORDS = {
    "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
    "thousand": 1000, "million": 1e6,
}
MULTIPLIER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                    "nine": 9, "a": 1, "one": 1}
FOLD_WORDS = {"twofold": 2, "threefold": 3, "fourfold": 4, "fivefold": 5, "tenfold": 10,
              "hundredfold": 100, "thousandfold": 1000}

#: A number right after one of these words names a thing, it does not state a measurement.
REFERENCE_WORDS = ("lesson", "lessons", "section", "sections", "§", "exercise", "exercises",
                   "notebook", "notebooks", "chapter", "figure", "table", "cell", "cells", "part",
                   "version", "python", "torch", "numpy", "equation", "eq.", "algorithm",
                   "appendix", "theorem", "cs231n", "pep", "issue", "arxiv", "keras", "jax", "optax",
                   "timm", "schedulefree", "scikit-learn", "ipywidgets", "jupyterlab", "matplotlib")

NUMBER = re.compile(
    r"(?<![\w.])"                                   # not inside a word or after a decimal point
    r"(?P<mantissa>\d{1,3}(?:[, \u00a0\u202f]\d{3})+(?!\d|\.\d)|\d+(?:\.\d+)?|\.\d+)"
    r"(?:(?P<e>[eE][-+−]?\d+)"                       # 1e-8
    r"|\s*[×x·]\s*10(?P<sup>[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)"        # 1.2 × 10⁻³
    r")?"
    r"(?P<percent>\s?%)?"
    r"(?![\w⁻⁰¹²³⁴⁵⁶⁷⁸⁹])")
OUTPUT_NUMBER = re.compile(NUMBER.pattern.replace("[, \\u00a0\\u202f]", ","))
POWER_OF_TEN = re.compile(r"(?<![\w.×·])10(?P<sup>[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)")
WORD_NUMBER = re.compile(
    r"\b(?:(?P<mult>two|three|four|five|six|seven|eight|nine|a|one)[\s-]+)?"
    r"(?P<word>" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")\b"
    r"|\b(?P<fold>" + "|".join(FOLD_WORDS) + r")\b", re.IGNORECASE)


@dataclass(frozen=True)
class ProseNumber:
    """A number as the prose writes it, its value, and how precisely it is written."""

    text: str
    value: float
    decimals: int | None  # digits after the point (plain decimals and percentages)
    significant: int | None  # significant digits (scientific notation and number words)
    percent: bool = False
    cell: int = -1
    measured: bool = False  # "about thirty", "9.4 times": must be printed, code does not count
    bound: str = ""  # "upper" ("within 0.005", "below"), "lower" ("at least 7000"), or "" (equal)

    def matches(self, candidate: float) -> bool:
        """True when ``candidate`` rounds to this number at the precision it is written with;
        for a bound, when ``candidate`` lies on its side of it, within a factor of ten."""
        targets = [abs(candidate)]
        if self.percent:
            targets.append(abs(candidate) * 100)
        if self.bound == "upper":
            return any(self.value / 10 <= x <= self.value or _rounds_to(x, self) for x in targets)
        if self.bound == "lower":
            return any(self.value <= x <= 10 * self.value or _rounds_to(x, self) for x in targets)
        return any(_rounds_to(x, self) for x in targets)


def _rounds_to(x: float, number: ProseNumber) -> bool:
    if not math.isfinite(x):
        return False
    if number.significant is not None:
        if x == 0:
            return number.value == 0
        digits = number.significant - 1 - math.floor(math.log10(x))
        return math.isclose(round(x, digits), number.value, rel_tol=1e-9)
    return math.isclose(round(x, number.decimals or 0), number.value, rel_tol=1e-9, abs_tol=1e-12)


def _strip_markup(markdown: str) -> str:
    """Markdown without math, code, links' targets, HTML tags and headings."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.DOTALL)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.DOTALL)
    text = re.sub(r"\$[^$]*\$", " ", text)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "] ", text)
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"^\s*#.*$", " ", text, flags=re.MULTILINE)
    text = re.sub(r"^\s*\d+[.)]\s", " ", text, flags=re.MULTILINE)  # numbered list items
    text = re.sub(r"^\|\s*\d+\s*\|", "| |", text, flags=re.MULTILINE)  # a table's row numbers
    return text


#: Words around a number that make it a measurement ("about 30", "9.4 times", "tenfold").
APPROXIMATE_BEFORE = re.compile(r"(?:about|roughly|around|nearly|almost|approximately|≈|~|only|some)\s*$",
                                re.IGNORECASE)
UPPER_BEFORE = re.compile(r"(?:within|below|less than|fewer than|at most|up to|under)\s*$", re.IGNORECASE)
LOWER_BEFORE = re.compile(r"(?:more than|at least|above)\s*$", re.IGNORECASE)
TIMES_AFTER = re.compile(r"\s*(?:times|×)", re.IGNORECASE)


def _measurement(text: str, start: int, end: int) -> tuple[bool, str]:
    """Whether the prose qualifies the number as a measurement, and which bound it states."""
    before, after = text[max(0, start - 25):start], text[end:end + 12]
    if UPPER_BEFORE.search(before) or re.match(r"\s*or (?:less|fewer|below)\b", after):
        return True, "upper"
    if LOWER_BEFORE.search(before) or re.match(r"\s*or (?:more|above)\b", after):
        return True, "lower"
    measured = (APPROXIMATE_BEFORE.search(before) or TIMES_AFTER.match(text, end)
                or text[start:end].lower().endswith("fold"))
    return bool(measured), ""


def _is_reference(text: str, start: int) -> bool:
    """"lesson 08", "section 6.4", and the end of a range of them: "lessons 01–11"."""
    before = text[max(0, start - 20):start].lower()
    words = before.split()
    if words and words[-1].strip("(") in REFERENCE_WORDS:
        return True
    range_start = re.search(r"(\S+)\s+\d+(?:\.\d+)?\s?[–-]\s?$", before)
    return bool(range_start) and range_start[1].strip("(") in REFERENCE_WORDS


def prose_numbers(markdown: str, cell: int = -1) -> list[ProseNumber]:
    """Every stated number in a markdown cell (see the module docstring for what is skipped)."""
    text = _strip_markup(markdown)
    found = []

    def add(m: re.Match, value: float, decimals: int | None, significant: int | None,
            percent: bool = False) -> None:
        measured, bound = _measurement(text, m.start(), m.end())
        found.append(ProseNumber(m[0], value, decimals, significant, percent, cell, measured, bound))

    for m in NUMBER.finditer(text):
        if _is_reference(text, m.start()) or re.search(r"(19|20)\d\d[–-]$", text[:m.start()]):
            continue  # "lesson 08", "2025–26"
        mantissa = re.sub(r"[, \u00a0\u202f]", "", m["mantissa"])
        if m["e"] or m["sup"]:
            add(m, _value(m, mantissa), None, _significant(mantissa))
        elif "." in mantissa:
            add(m, float(mantissa), len(mantissa.split(".")[1]), None, bool(m["percent"]))
        elif m["percent"] or 10 <= float(mantissa) and not 1900 <= float(mantissa) <= 2100:
            add(m, float(mantissa), 0, None, bool(m["percent"]))  # not counts, list numbers, years
    taken = [range(*m.span()) for m in NUMBER.finditer(text)]
    for m in POWER_OF_TEN.finditer(text):
        if not any(m.start() in span for span in taken):  # not the power of "1.2 × 10⁻³"
            add(m, 10.0 ** int(m["sup"].translate(SUPERSCRIPTS)), None, 1)
    for m in WORD_NUMBER.finditer(text):
        if m["fold"]:
            value = FOLD_WORDS[m["fold"].lower()]
        else:
            value = NUMBER_WORDS[m["word"].lower()] * MULTIPLIER_WORDS[(m["mult"] or "a").lower()]
        add(m, float(value), None, _significant(str(int(value)).rstrip("0")))  # twelve: 2, thirty: 1
    return found


def _value(m: re.Match, mantissa: str) -> float:
    """The value of a number match: plain, ``1e-8`` or ``1.2 × 10⁻³``."""
    if m["e"]:
        return float(mantissa + "e" + m["e"][1:].replace("−", "-"))
    if m["sup"]:
        return float(mantissa) * 10.0 ** int(m["sup"].translate(SUPERSCRIPTS))
    return float(mantissa)


def _significant(mantissa: str) -> int:
    digits = mantissa.replace(".", "").lstrip("0")
    return max(len(digits), 1)


def printed_numbers(text: str) -> list[float]:
    """Every number in an output or in code, as floats (``lr=0.1``, ``9.6e-07``, ``20_000`` included)."""
    text = re.sub(r"(?<=\d)_(?=\d)", "", text)
    values = [_value(m, m["mantissa"].replace(",", "")) for m in OUTPUT_NUMBER.finditer(text)]
    values += [10.0 ** int(m["sup"].translate(SUPERSCRIPTS)) for m in POWER_OF_TEN.finditer(text)]
    values += [float(x) for x in re.findall(r"\d+\.\d*(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|\d+", text)]
    return [x for x in values if math.isfinite(x)]


#: A cell that recalls the lesson's results: a "Summary" or "checklist" heading, or a cell
#: that starts with the (invisible) marker <!-- recap -->.
RECAP = re.compile(r"<!-- recap -->|#+ .*(summary|checklist)", re.IGNORECASE)

#: A measured number must be printed by one of the code cells just around its sentence:
#: this many code cells above it, and two below (prose that announces a run).
NEARBY_CODE_CELLS = 4


@dataclass
class Sources:
    """What a notebook states in prose, prints in outputs (per cell), and writes in code."""

    stated: list[ProseNumber]
    printed: dict[int, set[float]]
    written: set[float]
    recaps: set[int] = field(default_factory=set)  # cells that recall the results above (RECAP)

    def unmatched(self) -> list[ProseNumber]:
        """Prose numbers without a source.

        A number must be printed by one of the code cells around its sentence, or repeat a
        number that earlier prose tied to an output; a recap (``RECAP``) may recall any output
        above it; a setting that the prose does not qualify as measured may instead be
        written in the code.
        """
        code_cells = sorted(self.printed)
        missing, recalled = [], set()
        for number in self.stated:
            above = [c for c in code_cells if c < number.cell][-NEARBY_CODE_CELLS:]
            below = [c for c in code_cells if c > number.cell][:2]
            pool = set().union(*(self.printed[c] for c in above + below)) | recalled
            if number.cell in self.recaps:
                pool |= set().union(*(self.printed[c] for c in code_cells if c < number.cell))
            if any(number.matches(x) for x in pool):
                recalled.add(number.value / (100 if number.percent else 1))
            elif number.measured or not any(number.matches(x) for x in self.written):
                missing.append(number)
        return missing


#: The text a figure leaves beside its picture: its size in pixels, not a number the lesson states.
FIGURE_REPR = re.compile(r"<Figure size \d+x\d+ with \d+ Axes>")


def notebook_sources(notebook: dict) -> Sources:
    """The prose numbers of a notebook, and every number of its outputs and of its code."""
    sources = Sources([], {}, set())
    for index, cell in enumerate(notebook["cells"]):
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            sources.stated += prose_numbers(source, cell=index)
            if RECAP.match(source.strip()):
                sources.recaps.add(index)
        elif cell["cell_type"] == "code":
            sources.written.update(printed_numbers(source))
            sources.printed[index] = set()
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                text = "".join(output.get("text", "")) + "".join(data.get("text/plain", ""))
                text = FIGURE_REPR.sub("", text)  # "<Figure size 850x400 ...>" states no result
                sources.printed[index].update(printed_numbers(text + "".join(data.get("text/html", ""))))
    return sources


def unmatched_numbers(path: Path) -> list[ProseNumber]:
    """The prose numbers of the notebook at ``path`` without a source (see ``Sources.unmatched``)."""
    return notebook_sources(json.loads(Path(path).read_text(encoding="utf-8"))).unmatched()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    count = 0
    for path in args.notebooks:
        for number in unmatched_numbers(path):
            count += 1
            where = "no nearby output" if number.measured else "no output and no code"
            print(f"{path.name} cell {number.cell}: {number.text!r} is in {where}")
    print(f"{count} prose number(s) without a source")
    return 1 if count else 0


if __name__ == "__main__":
    sys.exit(main())
