"""ReservoirTransformer in Pipeline, clone, GridSearchCV and pickle."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from pixelflow import Reservoir, ReservoirConfig, RidgeReadout
from pixelflow.datasets import digits
from pixelflow.sklearn import ReservoirTransformer


@pytest.fixture(scope="module")
def small_digits():
    ds = digits(seed=0)
    return ds.X_train[:300], ds.y_train[:300], ds.X_test[:150], ds.y_test[:150]


def test_transformer_equals_the_reservoir(rng):
    X = rng.random((5, 8, 8))
    t = ReservoirTransformer(width=8, height=8, rule="random_nca", channels=4, steps=3, record="all").fit(X)
    cfg = ReservoirConfig(width=8, height=8, rule="random_nca", channels=4, steps=3, record="all")
    np.testing.assert_array_equal(t.transform(X), Reservoir(cfg).transform(X))
    assert len(t.get_feature_names_out()) == t.transform(X).shape[1]
    assert t.get_feature_names_out()[0] == "t0_c0_y0_x0"


def test_pipeline_clone_pickle_and_grid_search(small_digits):
    X_train, y_train, X_test, y_test = small_digits
    model = make_pipeline(
        ReservoirTransformer(width=8, height=8, channels=4, steps=2, rule="random_nca"),
        RidgeReadout(alpha=1.0, standardize=True),
    )
    model.fit(X_train, y_train)
    acc = model.score(X_test, y_test)
    assert acc > 0.8  # 8x8 digits: raw-pixel ridge alone is ~0.9 on this subset
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(X_test), model.predict(X_test))
    fresh = clone(model)
    assert not hasattr(fresh.steps[0][1], "reservoir_")
    search = GridSearchCV(model, {"reservoirtransformer__steps": [1, 3], "ridgereadout__alpha": [0.1, 10.0]}, cv=2)
    search.fit(X_train, y_train)
    assert set(search.best_params_) == {"reservoirtransformer__steps", "ridgereadout__alpha"}


def test_errors_follow_sklearn_conventions(rng):
    t = ReservoirTransformer(width=8, height=8)
    with pytest.raises(NotFittedError):
        t.transform(rng.random((2, 16)))
    t.fit(rng.random((2, 784)))
    with pytest.raises(ValueError, match="X has 783 features, but ReservoirTransformer is expecting 784 features"):
        t.transform(rng.random((2, 783)))
    with pytest.raises(ValueError, match="unknown rule"):
        ReservoirTransformer(rule="nope").fit(rng.random((2, 4)))


def test_constructor_stores_parameters_unchanged():
    params = {"c": 0.4}
    t = ReservoirTransformer(rule_params=params, record=(0, 2))
    assert t.get_params()["rule_params"] is params
    assert t.get_params()["record"] == (0, 2)
