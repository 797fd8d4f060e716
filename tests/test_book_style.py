"""The scorecard's verdict classes are styled (one badge style, readable colours in both themes) and figures are
numbered (numfig)."""

import re
from pathlib import Path

import pytest
import yaml

from darkness_visible.report.scorecard import _VERDICT_CLASS

ROOT = Path(__file__).resolve().parents[1]
CSS = (ROOT / "book" / "_static" / "custom.css").read_text(encoding="utf-8")


def _luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("cls", sorted(set(_VERDICT_CLASS.values())))
@pytest.mark.parametrize("dark", [False, True])
def test_every_verdict_class_has_a_readable_colour(cls, dark):
    prefix = r'html\[data-theme="dark"\] ' if dark else r"(?<!\] )"
    rule = re.search(prefix + r"table\.dv-scorecard-table td\." + cls + r" \{ color: (#[0-9a-f]{6}); "
                     r"background-color: (#[0-9a-f]{6}); \}", CSS)
    assert rule, f"no {'dark' if dark else 'light'} colour for .{cls}"
    badge = re.search(prefix.replace(r"(?<!\] )", "") + r"\.dv-verdict-counts \.dv-count\." + cls + r",\s*" + prefix
                      + r"table\.dv-scorecard-table td\." + cls + r" \{", CSS)
    assert badge, f"the scorecard's count badge .{cls} does not share the table cell's colours"
    assert _contrast(rule[1], rule[2]) >= 4.5


def test_figures_are_numbered():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]
    assert config["numfig"] is True and config["numfig_format"]["figure"] == "Figure %s"
