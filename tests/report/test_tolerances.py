"""Tolerances come from the specification (§9) or the paper's printed precision, never wider."""

import re

import pytest

from darkness_visible.report import tolerances as T

#: paper-claims.md §9 (and E3's CI note in §6), restated independently of the module: pattern -> widest.
SPEC_9 = {
    "E0.max_abs_error": 1e-4 - 6e-5, "E0.min_cosine": 0.99999994 - 0.9999999, "E2.cos.N2.N2361": 0.01,
    "E9.surprisal.mean_intr": 0.01,
    "E6.base.prob": 1e-5, "E8.knockout.consensus": 0.005, "E3.level4.mean": 0.002, "E3.level4.ci_lo": 0.003,
    "E10.L11.exception_neuron": 0.0, "E10.L3.exception_rate": 0.002, "E11.trained.core_jaccard_mean": 0.005,
    "E11.random.core_jaccard_mean": 0.05, "E12.theta0.5.core_jaccard_min": 0.005, "E13.N584.contingency.a": 0.0,
    "E14.logit.L3": 0.05, "E14.tuned.L3": 0.05,
}


@pytest.mark.parametrize("claim, widest", sorted(SPEC_9.items()))
def test_no_rule_is_wider_than_the_specification(claim, widest):
    paper = 1.0  # relative rules (E3 counts) are checked separately
    assert T.allowed(claim, paper)[0] <= widest + 1e-15


def test_every_rule_is_at_most_a_spec_maximum_and_quotes_its_source():
    for rule in T.SPEC_RULES:
        assert rule.absolute <= max(T.SPEC_MAXIMA.values()) and rule.relative <= 0.002
        assert re.match(r"^(§9 F\d\.\d|E3 \(§6\))", rule.source), rule.source


def test_counts_per_level_are_exact_to_two_tenths_of_a_percent():
    assert T.allowed("E3.level7.n", 77_950)[0] == pytest.approx(155.9)
    assert T.allowed("E3.level0.n", 206)[0] == pytest.approx(0.412), "0.2 % of 206: less than one token"


@pytest.mark.parametrize("paper, tol", [(0.838, 0.0005), (31.79, 0.005), (206, 0.5), (0.00064, 0.000005),
                                        (1e-5, 5e-6), (-0.02013, 0.000005), (4.5, 0.05)])
def test_precision_is_half_a_unit_in_the_last_printed_digit(paper, tol):
    assert T.precision_tolerance(paper) == pytest.approx(tol)


def test_ranks_above_a_thousand_get_two_and_the_rest_are_exact():
    assert T.allowed("E6.context.median", 1905)[0] == 2.0
    assert T.allowed("E6.context.top10", 18)[0] == 0.5


def test_a_wider_tolerance_is_refused_and_a_tighter_one_kept():
    with pytest.raises(T.ToleranceError, match="wider than the specification's 0.002"):
        T.check("E3.level4.mean", 0.01383, 0.01)
    assert T.check("E3.level4.mean", 0.01383, 0.001)[0] == 0.001
    assert T.check("E3.level4.mean", 0.01383, None)[0] == 0.002


def test_the_crossover_is_matched_only_inside_the_papers_bracket():
    assert T.allowed("E3.crossover", 4.5)[0] == 0.5


def test_rows_without_a_paper_number_accept_any_tolerance():
    assert T.check("NEW.discovery.recovered", None, 3.0) == (3.0, "no paper number")
