"""Tests for pixelflow.workbook.presets: lookup, round trip, and that a preset runs through the protocol."""

import dataclasses
import json

import numpy as np
import pytest

import pixelflow.datasets
from pixelflow.datasets import digits
from pixelflow.readouts import RidgeReadout
from pixelflow.stack import StackConfig, config_from_dict
from pixelflow.workbook import presets
from pixelflow.workbook.outputs import repository_root
from pixelflow.workbook.protocols import evaluate


def test_every_preset_is_valid_and_round_trips():
    assert presets.available() == sorted(presets.available()) and presets.available()
    for name in presets.available():
        p = presets.get(name)
        assert p.name == name
        assert presets.from_dict(p.to_dict()) == p
        readout = p.make_readout()
        assert readout.get_params()["standardize"] is True
        # The memory bound: 60,000 float32 feature rows fit in 4 GB.
        assert 60_000 * p.reservoir.n_features * 4 <= 4e9


def test_unknown_and_bad_names():
    with pytest.raises(ValueError, match="unknown preset 'imagenet'; valid: cifar10, fashion_mnist, mnist"):
        presets.get("imagenet")
    with pytest.raises(TypeError, match="string"):
        presets.get(3)
    with pytest.raises(ValueError, match="readout"):
        presets.Preset("x", "mnist", presets.get("mnist").reservoir, "svm")


def _on_8x8_digits(member):
    """A preset member shrunk to the 8x8 digits: the 14x14 grid becomes 8x8, the 7x7 one 4x4."""
    size, pool = (4, 4) if member.width == 7 else (8, 4)
    return dataclasses.replace(member, width=size, height=size, pool=pool,
                               feature_maps=tuple((name, pool) for name, _ in member.feature_maps))


def test_a_preset_candidate_runs_through_evaluate():
    ds = digits(seed=0)
    p = presets.get("mnist")
    small = dataclasses.replace(p, reservoir=StackConfig(tuple(map(_on_8x8_digits, p.reservoir.members))))
    cand = small.candidate()
    assert isinstance(cand.readout, RidgeReadout) and cand.readout.alpha == p.readout_params["alpha"]
    result = evaluate(cand, *ds, seeds=(0,), progress=False)
    assert result["n_features"] == small.reservoir.n_features
    assert result["mean"] > 0.9  # 8x8 digits are easy; a broken feature path would be near chance
    again = evaluate(small.candidate(seed=0), *ds, seeds=(0,), progress=False)
    np.testing.assert_array_equal(result["y_pred"], again["y_pred"])


@pytest.mark.parametrize("name, notebook", [("mnist", "01_mnist"), ("fashion_mnist", "02_fashion_mnist"),
                                            ("cifar10", "03_cifar10")])
def test_presets_are_what_the_committed_paper_runs_selected(name, notebook):
    """A preset must be the configuration its notebook chose on validation in the committed paper-scale results."""
    record = json.loads((repository_root() / "results" / "paper" / f"{notebook}.json").read_text())
    selected = record["metrics"]["selected"]
    final = record["metrics"]["final"][selected["method"]]
    p = presets.get(name)
    assert config_from_dict(selected["config"]) == p.reservoir
    assert (final["readout"], final["value"]) == (p.readout, p.readout_params["alpha"])
    assert final.get("augment") == p.augment
    assert {d["name"].lower().replace("-", "") for d in record["data"]} == {p.dataset.replace("_", "")}


def test_run_takes_a_subset_shows_progress_within_a_seed_and_returns_one_config(monkeypatch, capsys):
    # The MNIST preset on the 8x8 digits: run() must pass the subset sizes to the loader and keep its result small.
    asked = {}

    def small_mnist(data_dir=None, *, n_train=None, n_test=None, seed=0):
        asked.update(n_train=n_train, n_test=n_test)
        return digits(seed=seed)

    monkeypatch.setattr(pixelflow.datasets, "mnist", small_mnist)
    p = presets.get("mnist")
    small = dataclasses.replace(p, reservoir=StackConfig(tuple(map(_on_8x8_digits, p.reservoir.members))))
    result = small.run(seeds=(0, 1), n_train=300, n_test=100, progress=True)
    assert asked == {"n_train": 300, "n_test": 100}
    assert len(result["test_accuracy"]) == 2 and result["preset"] == small.to_dict()
    assert "configs" not in result and "config" not in result  # the configuration once, in the preset
    err = capsys.readouterr().err
    assert "seed 0: test features" in err or "seed 1: done" in err
    assert "8/8" in err  # four stages per seed
