import pytest

from darkness_visible.data import neurons


def test_tier_sizes_match_the_paper():
    assert (len(neurons.CORE), len(neurons.DIFFERENTIATORS), len(neurons.SPECIALISTS)) == (5, 10, 5)
    assert len(neurons.CONSENSUS) == 7
    assert len(neurons.HANDLER) == 20 and len(neurons.ROUTING) == 27
    assert len(set(neurons.ROUTING)) == 27, "a neuron appears in two tiers"


def test_exception_neuron_is_core_and_first():
    assert neurons.CORE[0] == neurons.EXCEPTION_NEURON == 2123


def test_faithful_control_lists_are_wrong_in_exactly_the_documented_places():
    wrong_diff = set(neurons.FAITHFUL_CONTROL_DIFFERENTIATORS) - set(neurons.DIFFERENTIATORS)
    wrong_spec = set(neurons.FAITHFUL_CONTROL_SPECIALISTS) - set(neurons.SPECIALISTS)
    assert wrong_diff == {935, 2856, 1427, 377}
    assert wrong_spec == {1375, 1037, 1994, 1224}


def test_lookup_and_range_errors_name_the_fix():
    assert neurons.neuron(2910).tier == "core"
    with pytest.raises(KeyError, match="not one of the paper's 27"):
        neurons.neuron(5)
    with pytest.raises(IndexError, match="has 256 neurons"):
        neurons.check_indices([2123], d_mlp=256)
    neurons.check_indices(list(neurons.ROUTING), d_mlp=3072)
