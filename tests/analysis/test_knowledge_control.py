"""E7: the 12-prompt control's lists, its manual LayerNorm, and its ranks on a real traced model."""

import torch

from darkness_visible.analysis import knowledge_control as kc
from darkness_visible.data.neurons import ROUTING
from darkness_visible.data.prompts import CONTROL_PROMPTS


def test_the_residual_set_is_3045_and_the_faithful_one_keeps_the_real_tier_neurons():
    faithful = set(kc.residual_pool(3072, kc.FAITHFUL_ROUTING).tolist())
    corrected = set(kc.residual_pool(3072, ROUTING).tolist())
    assert len(faithful) == len(corrected) == 3045 == kc.n_residual(3072)
    # the script's wrong lists leave 8 real handler neurons in its "residual" set and drop 8 others
    assert corrected - faithful == {935, 2856, 1427, 377, 1375, 1037, 1994, 1224}
    assert faithful - corrected == {2921, 2709, 971, 2679, 2462, 1800, 2379, 3066}


def test_manual_layer_norm_puts_epsilon_on_the_std():
    v = torch.tensor([[1.0, 2.0, 3.0, 6.0]])
    g, b = torch.ones(4), torch.zeros(4)
    std = v.std(unbiased=False)
    expected = (v - v.mean()) / (std + 1e-5)
    assert torch.allclose(kc.manual_layer_norm(v, g, b), expected)
    torch_ln = torch.nn.functional.layer_norm(v, (4,), g, b, eps=1e-5)  # ε inside the square root
    assert not torch.equal(kc.manual_layer_norm(v, g, b), torch_ln)
    assert torch.allclose(kc.manual_layer_norm(v, g, b, eps=0.0), torch.nn.functional.layer_norm(v, (4,), eps=0.0))
    tiny_v = torch.tensor([[1e-3, -1e-3, 2e-3, 0.0]])  # where std ~ ε, the two placements disagree strongly
    gap = (kc.manual_layer_norm(tiny_v, g, b) - torch.nn.functional.layer_norm(tiny_v, (4,), g, b, eps=1e-5)).abs()
    assert gap.max() > 1e-3


def test_control_table_on_a_traced_model(tiny):
    table = kc.control_table(tiny, CONTROL_PROMPTS[:3])
    assert len(table) == 3 * 2 * 2 * len(kc.CONTROL_CHECKPOINTS)
    assert set(table["mode"]) == {"faithful", "corrected"} and (table.n_residual == tiny.d_mlp - 1).all(), \
        "of the 27 ids only consensus neuron N2 exists in a 256-neuron model"
    assert ((table["rank"] >= 1) & (table["rank"] <= 50257)).all()
    # at "all neurons" the context vector is a·W_out over the pool: check its model-LN rank independently
    from darkness_visible.analysis.knowledge import last_position, target_id
    _, acts, _ = last_position(tiny, [CONTROL_PROMPTS[0].prompt])
    pool = kc.residual_pool(tiny.d_mlp, kc.FAITHFUL_ROUTING)
    with torch.inference_mode():
        logits = tiny.unembed(acts[0, pool] @ tiny.w_out()[pool])
    tid = target_id(tiny, " " + CONTROL_PROMPTS[0].target)
    want = int(1 + (logits > logits[tid]).sum())
    got = table[(table["index"] == 0) & (table.method == "context") & (table["mode"] == "faithful")
                & (table.k == max(kc.CONTROL_CHECKPOINTS))].rank_model_ln.item()
    assert got == want


