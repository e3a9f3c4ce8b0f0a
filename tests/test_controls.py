"""Controls of a selected design: the dynamics removed, everything else kept."""

import numpy as np
import pytest

from pixelflow import ReservoirConfig
from pixelflow.baselines import ConvNetClassifier, ScatteringConfig
from pixelflow.stack import StackConfig
from pixelflow.workbook.protocols import controls
from pixelflow.workbook.protocols.fitting import features

DESIGN = StackConfig((
    ReservoirConfig(8, 8, 4, 3, "random_nca", rule_params={"gain": 2.0, "leak": 0.9}, record=(1, 2, 3), pool=4,
                    feature_maps=(("products", 4), ("state", 4))),
    ReservoirConfig(4, 4, 6, 3, "random_nca", record=(1, 3), pool=2, feature_maps=(("products", 2),), seed=1000)))


def test_the_zero_step_control_is_the_designs_first_update():
    X = np.random.default_rng(0).random((6, 8, 8), dtype=np.float32)
    design = features(DESIGN, X)
    zero = features(controls.zero_step(DESIGN), X)
    # Step 1 is recorded first in every member: its blocks are the control's, bit for bit.
    first, second = DESIGN.members
    per_step = [first.n_features // 3, second.n_features // 2]
    expected = np.concatenate([design[:, :per_step[0]], design[:, first.n_features:first.n_features + per_step[1]]],
                              axis=1)
    assert np.array_equal(zero, expected)


def test_matched_controls_have_the_designs_feature_count_and_independent_lifts():
    matched = controls.zero_step_matched(DESIGN)
    assert matched.n_features == DESIGN.n_features == controls.random_conv_matched(DESIGN).n_features
    assert [m.seed for m in matched.members] == [0, 7919, 15838, 1000, 8919]
    assert all(m.steps == 1 and m.record_steps == (1,) for m in matched.members)


def test_controls_refuse_other_rules():
    with pytest.raises(ValueError, match="random_nca"):
        controls.zero_step(ReservoirConfig(8, 8, 2, 2, "wave"))


def test_baseline_candidates_share_the_designs_ridge_grid():
    cands = controls.baseline_candidates(DESIGN, (8, 8), [0.1, 1.0], knn_neighbors=(1, 3), cnn_epochs=3)
    names = list(dict.fromkeys(c.name for c in cands))
    assert names == ["0 steps (lift)", "0 steps, same dim.", "random conv, same dim.", "scattering J=2 L=8",
                     "pixels, kNN", "pixels, CNN (trained)"]
    ridge = [c.readout.alpha for c in cands if c.name == "scattering J=2 L=8"]
    assert ridge == [0.1, 1.0]
    assert isinstance(next(c for c in cands if c.name == "scattering J=2 L=8").config, ScatteringConfig)
    cnn = [c.readout for c in cands if isinstance(c.readout, ConvNetClassifier)]
    assert [r.epochs for r in cnn] == [1, 2, 3] and cnn[0].image_shape == (8, 8)

