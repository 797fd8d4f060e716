"""Model answers to chapter 05's exercises (checks: :mod:`darkness_visible.exercises.garden_path`)."""

from __future__ import annotations

import re

import numpy as np

from darkness_visible.data.stimuli import GardenPathPair


def reference_finder(tokenizer, sentence: str, word: str, anchor: str) -> int:
    """Exercise 5.1: the first sub-token of the first whole-word ``word`` after the whole-word ``anchor``."""
    enc = tokenizer(sentence, return_offsets_mapping=True, add_special_tokens=False)

    def whole(w: str) -> re.Pattern[str]:
        return re.compile(r"(?<![A-Za-z0-9])" + re.escape(w) + r"(?![A-Za-z0-9])")

    start = whole(word).search(sentence, whole(anchor).search(sentence).end()).start()
    return next(i for i, (a, b) in enumerate(enc["offset_mapping"]) if a <= start < b)


def reference_dz(garden: np.ndarray, control: np.ndarray) -> float:
    """Exercise 5.2: the paired effect size, mean over SD (ddof = 1) of the differences."""
    diff = np.asarray(garden) - np.asarray(control)
    return float(diff.mean() / diff.std(ddof=1))


def reference_min_d(n: int = 15, alpha: float = 0.01, power: float = 0.8) -> float:
    """Exercise 5.3: the smallest d_z a two-sided paired t-test detects."""
    from statsmodels.stats.power import TTestPower

    return float(TTestPower().solve_power(effect_size=None, nobs=n, alpha=alpha, power=power))


def _rr(id_: str, subject_np: str, ambiguous: str, participle: str, rest: str, verb: str) -> GardenPathPair:
    return GardenPathPair(id_, "reduced_relative", f"{subject_np} {ambiguous} {rest} {verb}.",
                          f"{subject_np} {participle} {rest} {verb}.", ambiguous, participle, verb, verb,
                          subject_np, "exercise")


#: Exercise 5.4: three new reduced-relative pairs.
REFERENCE_PAIRS: tuple[GardenPathPair, ...] = (
    _rr("ex1", "The goat", "pulled", "driven", "up the hill", "stumbled"),
    _rr("ex2", "The clerk", "paid", "given", "the money", "resigned"),
    _rr("ex3", "The fox", "trapped", "seen", "near the farm", "escaped"),
)
