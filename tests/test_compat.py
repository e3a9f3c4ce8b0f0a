"""Code written for pixelflow-rc's documented API keeps working."""

import numpy as np


def test_pixelflow_rc_readme_quickstart_runs_unchanged():
    # The quickstart from pixelflow-rc 0.3.0's README, verbatim apart from the print.
    from pixelflow import Reservoir, ReservoirConfig, RidgeReadout
    from pixelflow.tasks.synthetic import two_moons

    X_train, y_train = two_moons(n=500, noise=0.2, seed=0)
    X_test, y_test = two_moons(n=200, noise=0.2, seed=1)

    cfg = ReservoirConfig(
        width=32, height=32, channels=4,
        steps=8, rule="diffusion_reaction",
        input_encoding="project", seed=0,
    )
    res = Reservoir(cfg, backend="cpu")

    F_train = res.transform(X_train)
    F_test = res.transform(X_test)
    assert F_train.shape == (500, 32 * 32 * 4) and F_test.shape == (200, 32 * 32 * 4)
    assert F_train.dtype == np.float32

    readout = RidgeReadout(alpha=1.0).fit(F_train, y_train)
    acc = readout.score(F_test, y_test)
    assert 0.75 <= acc <= 1.0  # two moons at noise 0.2 is ~85 % linearly separable


def test_pixelflow_rc_rule_parameter_names_are_accepted():
    from pixelflow import ReservoirConfig

    ReservoirConfig(rule="diffusion_reaction", rule_params={"feed": 0.05, "kill": 0.06, "dt": 1.0, "du": 0.16, "dv": 0.08})
    ReservoirConfig(rule="wave", rule_params={"c": 0.5, "damping": 0.999, "dt": 1.0})
    ReservoirConfig(rule="life_like", rule_params={"threshold": 0.5})


def test_pixelflow_rc_checkerboard():
    from pixelflow.tasks.synthetic import checkerboard

    X, y = checkerboard(n_per_side=4, seed=0)
    assert X.shape == (1600, 2)
    np.testing.assert_array_equal(y, (np.floor(X[:, 0]) + np.floor(X[:, 1])) % 2)
