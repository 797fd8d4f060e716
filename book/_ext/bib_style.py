"""Sphinx extension: citations in the text and labels in the reference list agree ("Balogh, 2026a").

sphinxcontrib-bibtex's ``author_year`` in-text style with pybtex's default ``alpha`` list style gave
"Balogh [2026]" in the text and "[Bal26a]" in the list. This registers

- ``authoryear``, a pybtex formatting style (``bibtex_default_style``): the ``unsrt`` entry format, sorted
  by author, year and title, labelled "Last, year" ("Last and Last, year", "Last et al., year");
- ``author_year_round``, an in-text style (``bibtex_reference_style``): ``{cite:t}`` → "Balogh (2026a)",
  ``{cite:p}`` → "(Balogh, 2026a)".

Two works by the same authors in the same year carry the letter in the BibTeX ``year`` field itself
(``year = {2026a}``), so the text, the label and the list entry all show it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from sphinxcontrib.bibtex.plugin import register_plugin as register_bibtex_plugin
from sphinxcontrib.bibtex.style.referencing import BracketStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle


def author_year_label(entry) -> str:
    """"Last, year" for one pybtex entry (two authors: "A and B"; more: "A et al.")."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    last = [" ".join(p.prelast_names + p.last_names).replace("{", "").replace("}", "") for p in people]
    who = (last[0] if len(last) == 1 else f"{last[0]} and {last[1]}" if len(last) == 2
           else f"{last[0]} et al." if last else entry.fields.get("title", "Anon.")[:20])
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels "Last, year" for the reference list."""

    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            yield author_year_label(entry)


class AuthorYearStyle(UnsrtStyle):
    """The unsrt entry format with author-year labels, sorted by author, year and title."""

    default_label_style = "authoryear"
    default_sorting_style = "author_year_title"


def _round() -> BracketStyle:
    return BracketStyle(left="(", right=")")


@dataclass
class RoundAuthorYearReferenceStyle(AuthorYearReferenceStyle):
    """Author-year citations in round brackets: "Balogh (2026a)", "(Balogh, 2026a)"."""

    bracket_parenthetical: BracketStyle = field(default_factory=_round)
    bracket_textual: BracketStyle = field(default_factory=_round)
    bracket_author: BracketStyle = field(default_factory=_round)
    bracket_label: BracketStyle = field(default_factory=_round)
    bracket_year: BracketStyle = field(default_factory=_round)


def setup(app):
    register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabelStyle)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    register_bibtex_plugin("sphinxcontrib.bibtex.style.referencing", "author_year_round",
                           RoundAuthorYearReferenceStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
