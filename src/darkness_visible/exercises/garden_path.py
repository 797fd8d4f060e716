"""Check functions for the garden-path chapter's exercises.

A learner calls each ``check_*`` on their own answer; it raises ``AssertionError`` with a hint when the
answer is wrong and returns ``True`` when it is right. The test suite runs the same checks on the
reference implementation (:mod:`darkness_visible.analysis.garden_path`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from darkness_visible.analysis import garden_path as gp
from darkness_visible.data.stimuli import PAPER_PAIRS, REDUCED_RELATIVE_PAIRS, GardenPathPair

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

Finder = Callable[["PreTrainedTokenizerBase", str, str, str], int]

#: (sentence, word, anchor): the tokenizations that trip naive finders.
TRICKY_CASES: tuple[tuple[str, str, str], ...] = (
    (PAPER_PAIRS[12].garden, "in", "performed"),  # add8: "in" hides inside " singer"
    (PAPER_PAIRS[6].garden, "stroked", "purred"),  # add2: " stro|ked", two sub-tokens
    (PAPER_PAIRS[1].garden, "prescribed", "sneezed"),  # vgp2: " sne|ez|ed" shifts every later index
    (PAPER_PAIRS[13].control, "at", "disobeyed"),  # add9: " disob|eyed"
    (REDUCED_RELATIVE_PAIRS[2].garden, "fainted", "pushed"),  # " f|ainted"
    ("The dog the dog chased ran.", "dog", "the"),  # the word also occurs before the anchor
    ("Fell the horse, and the horse fell.", "fell", "horse"),  # case and punctuation
    ("The singer performed a song within the hall in June.", "in", "performed"),  # "in" hides in "within"
    ("The sled in the snow led us in the end.", "in", "led"),  # the anchor "led" hides in "sled": whole words only
)

#: Unambiguous past participles (a control anchor must be one of these, or end in "-en"/"-wn"/"-rn").
IRREGULAR_PARTICIPLES = frozenset({
    "begun", "done", "drunk", "gone", "rung", "run", "shrunk", "sprung", "sung", "sunk", "swum", "stung", "struck",
    "slung", "spun", "strung", "stunk", "swung", "wrung", "hung",
})
#: Irregular verbs whose past tense is also their participle (ambiguous, like "-ed" verbs).
AMBIGUOUS_IRREGULAR = frozenset({
    "bent", "bought", "brought", "built", "caught", "dealt", "fed", "felt", "fought", "found", "had", "heard",
    "held", "kept", "laid", "led", "left", "lent", "lost", "made", "meant", "met", "paid", "said", "sent",
    "shot", "sold", "spent", "stood", "taught", "told", "thought", "won", "wound", "read", "put", "set", "cut",
    "hit", "hurt", "let", "shut", "spread", "bred", "fled", "sped",
})


def is_unambiguous_participle(word: str) -> bool:
    """A past participle that is not also a past tense ("taken", "thrown", "sung"), so it cannot start a main clause."""
    w = word.lower()
    return (w in IRREGULAR_PARTICIPLES or w.endswith(("en", "wn", "rn"))) and w not in AMBIGUOUS_IRREGULAR


def is_ambiguous_verb(word: str) -> bool:
    """A verb whose past tense and participle are the same form ("raced", "led", "sent")."""
    w = word.lower()
    return (w.endswith("ed") or w in AMBIGUOUS_IRREGULAR) and not is_unambiguous_participle(w)


def check_disambiguation_finder(finder: Finder, tokenizer: PreTrainedTokenizerBase) -> bool:
    """Exercise 1: ``finder(tokenizer, sentence, word, anchor) -> token index`` of the word's first sub-token."""
    for sentence, word, anchor in TRICKY_CASES:
        want = gp.disambiguation_index(tokenizer, sentence, word, anchor)
        got = finder(tokenizer, sentence, word, anchor)
        if got != want:
            ids, _ = gp.encode_with_offsets(tokenizer, sentence)
            toks = [tokenizer.decode([i]) for i in ids]
            raise AssertionError(
                f"{sentence!r}, word {word!r} after {anchor!r}: expected index {want} ({toks[want]!r}), got {got}"
                + (f" ({toks[got]!r})" if isinstance(got, int) and 0 <= got < len(toks) else "")
                + ". Hint: find the word's character offset (whole word, after the anchor), then the token "
                  "whose offset span covers it."
            )
    return True


def check_paired_effect_size(d_z: Callable[[np.ndarray, np.ndarray], float], seed: int = 0) -> bool:
    """Exercise 2: ``d_z(garden, control)`` = mean(garden − control) / sd(garden − control, ddof = 1)."""
    rng = np.random.default_rng(seed)
    for _ in range(5):
        g = rng.normal(10, 3, 15)
        c = g + rng.normal(0.8, 1.5, 15) + rng.normal(0, 2)
        want = gp.compare(g, c).d_z
        got = float(d_z(g, c))
        if not np.isclose(got, want, rtol=1e-6):
            paper = gp.compare(g, c).cohens_d_paper
            hint = (" That is the code's pooled 'Cohen's d'; the paired effect size uses the SD of the differences."
                    if np.isclose(got, paper, rtol=1e-6) else " Check the sign (garden − control) and ddof=1.")
            raise AssertionError(f"expected d_z = {want:.4f}, got {got:.4f}.{hint}")
    return True


def check_min_detectable_d(answer: float, n: int = 15, alpha: float = 0.01, power: float = 0.8,
                           tolerance: float = 0.01) -> bool:
    """Exercise 3: the smallest d_z that ``n`` pairs detect with ``power`` at two-sided ``alpha``."""
    want = gp.power_analysis(n, alpha, power).min_d
    if abs(float(answer) - want) > tolerance:
        raise AssertionError(
            f"expected about {want:.3f}, got {float(answer):.3f}. Hint: statsmodels' TTestPower().solve_power("
            f"effect_size=None, nobs={n}, alpha={alpha}, power={power}) (a paired test is a one-sample test "
            "on the differences)."
        )
    return True


def check_new_pairs(pairs: Sequence[GardenPathPair], tokenizer: PreTrainedTokenizerBase, minimum: int = 3) -> bool:
    """Exercise 4: new reduced-relative pairs are well-formed minimal pairs.

    Each pair needs: both sentences identical except the anchor verb; the main verb found after the anchor
    in both; the same word position of the main verb; ids unique and not clashing with the book's pairs.
    """
    if len(pairs) < minimum:
        raise AssertionError(f"write at least {minimum} pairs, got {len(pairs)}")
    taken = {p.id for p in PAPER_PAIRS + REDUCED_RELATIVE_PAIRS}
    seen: set[str] = set()
    for p in pairs:
        if p.id in taken or p.id in seen:
            raise AssertionError(f"pair id {p.id!r} is already used")
        seen.add(p.id)
        if p.family != "reduced_relative":
            raise AssertionError(f"{p.id}: the family must be 'reduced_relative', got {p.family!r}")
        if is_unambiguous_participle(p.anchor_garden) and is_ambiguous_verb(p.anchor_control):
            raise AssertionError(f"{p.id}: garden and control are swapped: the garden sentence has the ambiguous "
                                 f"verb ({p.anchor_control!r}), the control the unambiguous participle "
                                 f"({p.anchor_garden!r})")
        if not is_ambiguous_verb(p.anchor_garden):
            raise AssertionError(f"{p.id}: the garden anchor {p.anchor_garden!r} must be an ambiguous verb, past "
                                 "tense and participle alike ('raced', 'led'), so the sentence can be misread")
        if not is_unambiguous_participle(p.anchor_control):
            raise AssertionError(f"{p.id}: the control anchor {p.anchor_control!r} must be an unambiguous past "
                                 "participle ('ridden', 'taken', 'thrown'), so the control cannot be misread")
        if p.paper_word != p.main_verb:
            raise AssertionError(f"{p.id}: in a reduced relative the disambiguating word is the main verb: "
                                 f"paper_word {p.paper_word!r} and main_verb {p.main_verb!r} must be the same")
        g_words, c_words = p.garden.split(), p.control.split()
        if len(g_words) != len(c_words):
            raise AssertionError(f"{p.id}: the sentences must have the same number of words")
        differ = [i for i, (a, b) in enumerate(zip(g_words, c_words, strict=True)) if a != b]
        if len(differ) != 1 or g_words[differ[0]].strip(".,") != p.anchor_garden \
                or c_words[differ[0]].strip(".,") != p.anchor_control:
            raise AssertionError(f"{p.id}: the two sentences must differ in exactly one word, the anchor verb")
        for condition in gp.CONDITIONS:
            try:
                gp.locate(tokenizer, p, condition, "main_verb")
            except ValueError as error:
                raise AssertionError(f"{p.id} ({condition}): {error}") from None
    return True
