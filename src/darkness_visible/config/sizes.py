"""How much each chapter computes: one setting, named presets.

The size of a run never depends on which model runs: a random-weight stand-in at ``paper`` size executes
exactly the procedures, corpus slices and budgets that GPT-2 would. Choose a preset with ``DV_SIZE``
(``--size``, ``replication: {size: ...}`` in ``_config.yml``); ``DV_WINDOWS`` still overrides the window
count alone, and every slice derived from it is capped by it.

=====================  ==========  =========  ===============================================================
field                  ``paper``   ``quick``  what it sizes (paper-claims section)
=====================  ==========  =========  ===============================================================
``windows``            200         4          DS-A 1,024-token windows of the harvest (E1, E3-E5; §4)
``survey_windows``     100         4          all-layer survey (E10: DS-A windows 0..99)
``lens_windows``       200         2          logit / tuned lens evaluation windows (E14: 0..199)
``lens_stride``        1           8          score every k-th position (E14: all 1,023 per window)
``sink_windows``       200         1          L11H7 attention statistics (E15: 0..199)
``controls_windows``   195         8          DS-B 256-token windows (E11-E13: 195 × 256 = 49,920)
``null_seeds``         5           2          random-init seeds of the null model (E11: "e.g. 5 seeds")
``lens_max_steps``     300         8          tuned-lens training, at most (stops early when converged)
``lens_tokens_per_step`` 256       64         positions per tuned-lens step
``lens_train_windows`` 8           1          1,024-token windows the translators train on
``consensus_windows``  500         4          DS-C train windows for E2's "512K" statistics (needs the hub)
``predecessor_windows`` 488        4          DS-C train windows for E18 (the predecessor's first 500K tokens:
                                               488 × 1,024 = 499,712; the first windows of E2's, needs the hub)
``bootstrap``          10,000      10,000     bootstrap resamples (E3, E5: 10,000, seed 42)
``evaluation_seeds``   10          1          seeds per setting of the book's own held-out test of discovery
                                              (not in the paper; 100: ``python -m darkness_visible.discovery.evaluate``)
=====================  ==========  =========  ===============================================================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from darkness_visible.config.settings import DEFAULT_WINDOWS, setting
from darkness_visible.errors import SettingError


@dataclass(frozen=True)
class Size:
    """Every size a chapter uses, named once. Build one with :func:`size_preset` or :func:`resolve_size`."""

    name: str
    windows: int
    survey_windows: int
    lens_windows: int
    lens_stride: int
    sink_windows: int
    controls_windows: int
    null_seeds: tuple[int, ...]
    lens_max_steps: int
    lens_tokens_per_step: int
    lens_train_windows: int
    consensus_windows: int
    predecessor_windows: int
    bootstrap: int = 10_000
    evaluation_seeds: int = 1

    def capped(self, windows: int) -> Size:
        """This size with the window count set to ``windows`` and every derived slice capped by it."""
        return replace(self, windows=windows, survey_windows=min(self.survey_windows, windows),
                       lens_windows=min(self.lens_windows, windows), sink_windows=min(self.sink_windows, windows))

    @property
    def is_paper(self) -> bool:
        """True when every size equals the paper's (a ``DV_WINDOWS`` override makes it False)."""
        return self == PRESETS["paper"]

    def describe(self) -> str:
        """One line for pages and result files, e.g. ``"paper (200 windows; every size as in the paper)"``."""
        if self.is_paper:
            return f"{self.name} ({self.windows} windows; every size as in the paper)"
        what = f"{self.windows} windows, lens on {self.lens_windows} (every {self.lens_stride}th position), " \
               f"{len(self.null_seeds)} null seeds"
        return f"{self.name} ({what}; smaller than the paper's)"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["null_seeds"] = list(self.null_seeds)
        data["describe"] = self.describe()
        return data


#: The named presets. ``paper`` is every size the paper uses; ``quick`` is CI's and a first look's.
PRESETS: dict[str, Size] = {
    "paper": Size("paper", windows=200, survey_windows=100, lens_windows=200, lens_stride=1, sink_windows=200,
                  controls_windows=195, null_seeds=(1, 2, 3, 4, 5), lens_max_steps=300, lens_tokens_per_step=256,
                  lens_train_windows=8, consensus_windows=500,
                  predecessor_windows=488, evaluation_seeds=10),
    "quick": Size("quick", windows=4, survey_windows=4, lens_windows=2, lens_stride=8, sink_windows=1,
                  controls_windows=8, null_seeds=(1, 2), lens_max_steps=8, lens_tokens_per_step=64,
                  lens_train_windows=1, consensus_windows=4,
                  predecessor_windows=4),
}
DEFAULT_SIZE = "paper"


def size_setting(explicit: str | None = None) -> str:
    """The preset name: ``explicit`` > ``$DV_SIZE`` > ``_config.yml`` > ``paper``."""
    name = str(setting("size", "DV_SIZE", explicit, DEFAULT_SIZE)).strip().lower()
    if name not in PRESETS:
        raise SettingError(f"unknown size {name!r}: choose one of {', '.join(PRESETS)} (DV_SIZE, --size or "
                           "replication: size: in _config.yml)")
    return name


def resolve_size(name: str | None = None, windows: int | None = None) -> Size:
    """The size a run uses: the preset, with ``windows`` (argument, else ``DV_WINDOWS``/_config.yml) applied.

    ``_config.yml``'s ``windows`` and ``$DV_WINDOWS`` override the preset's window count only when set.
    """
    preset = PRESETS[size_setting(name)]
    override = windows if windows is not None else setting("windows", "DV_WINDOWS", None, None)
    if override is None:
        return preset
    return preset.capped(windows_setting(override))


def windows_setting(explicit: int | str | None = None) -> int:
    """How many 1,024-token windows of the corpus a run uses: ``DV_WINDOWS``, else the size preset's."""
    if explicit is None and setting("windows", "DV_WINDOWS", None, None) is None:
        return resolve_size().windows
    value = setting("windows", "DV_WINDOWS", explicit, DEFAULT_WINDOWS)
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise SettingError(f"DV_WINDOWS / windows must be a whole number, got {value!r}") from None
    if n < 1:
        raise SettingError(f"windows (DV_WINDOWS, --windows) must be at least 1, got {n}")
    return n
