"""Trained models on disk: a hit is the trained model, a different training or training code is a miss."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pixelflow.workbook import model_cache  # noqa: E402


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(model_cache.CACHE_ENV_VAR, str(tmp_path / "models"))
    return tmp_path / "models"


def _build():
    torch.manual_seed(0)
    return torch.nn.Linear(3, 2)


class Fit:
    """Counts its calls; 'trains' by moving every weight by the given step."""

    def __init__(self, step=1.0):
        self.calls, self.step = 0, step

    def __call__(self, model):
        self.calls += 1
        with torch.no_grad():
            for p in model.parameters():
                p += self.step
        return {"history": [0.5, 0.25], "wall_time_s": 1.5}


def test_a_second_request_loads_the_trained_weights_without_training(cache):
    what = {"recipe": {"iterations": 3}, "data": model_cache.array_digest(np.arange(4.0))}
    fit = Fit()
    first, info, hit = model_cache.trained(what, _build, fit)
    assert not hit and fit.calls == 1 and info["wall_time_s"] == 1.5
    second, info2, hit2 = model_cache.trained(what, _build, fit)
    assert hit2 and fit.calls == 1 and info2 == info
    for p, q in zip(first.parameters(), second.parameters()):
        assert torch.equal(p, q)
    assert len(list(cache.glob("*.pt"))) == 1


def test_another_training_or_other_training_code_is_a_miss(cache, monkeypatch):
    fit = Fit()
    model_cache.trained({"seed": 0}, _build, fit)
    model_cache.trained({"seed": 1}, _build, fit)
    assert fit.calls == 2
    monkeypatch.setattr(model_cache, "training_code_hash", lambda: "other code")
    model_cache.trained({"seed": 0}, _build, fit)
    assert fit.calls == 3 and len(list(cache.glob("*.pt"))) == 3


def test_a_damaged_entry_is_trained_again_and_replaced(cache):
    fit = Fit(step=2.0)
    what = {"seed": 4}
    model_cache.trained(what, _build, fit)
    path = model_cache.entry_path(what)
    path.write_bytes(b"not a model")
    model, _, hit = model_cache.trained(what, _build, fit)
    assert not hit and fit.calls == 2
    again, _, hit = model_cache.trained(what, _build, fit)
    assert hit and torch.equal(next(again.parameters()), next(model.parameters()))


def test_off_trains_every_time_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(model_cache.CACHE_ENV_VAR, "off")
    monkeypatch.setenv("HOME", str(tmp_path))
    fit = Fit()
    model_cache.trained({"seed": 0}, _build, fit)
    model_cache.trained({"seed": 0}, _build, fit)
    assert fit.calls == 2 and model_cache.entry_path({"seed": 0}) is None
    assert not any(tmp_path.rglob("*.pt"))


def test_what_must_describe_the_training_in_json(cache):
    with pytest.raises(TypeError, match="array_digest"):
        model_cache.trained({"data": np.zeros(3)}, _build, Fit())
    with pytest.raises(TypeError, match="mapping"):
        model_cache.trained(["seed", 0], _build, Fit())
    assert not cache.exists()


def test_decoded_model_trains_once_then_reads_the_cache_and_runs_side_by_side(cache):
    from functools import partial

    from pixelflow.nca import RandomFeatures
    from pixelflow.nca.texture import TextureRecipe
    from pixelflow.workbook.protocols.resolution import decoded_model
    from pixelflow.workbook.side_by_side import run_side_by_side

    recipe = TextureRecipe(iterations=2, grid=8, channels=4, hidden=8, batch_size=2, steps=(2, 3), pool_size=4,
                           loss="sliced_wasserstein")
    ext = RandomFeatures(widths=(4,), seed=0)
    model, info, cached = decoded_model("gravel", recipe, ext, 2, 16, 4)
    assert not cached and len(info["history"]) == 2 and len(list(cache.glob("*.pt"))) == 1
    again, info_again, cached = decoded_model("gravel", recipe, ext, 2, 16, 4)
    assert cached and info_again == info
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), again.parameters()))
    # In another process (spawned, so everything crosses by pickle): the same model, from the same cache.
    call = partial(decoded_model, "gravel", recipe, ext, 2, 16, 4)
    for there in run_side_by_side({"one": call, "two": call}, jobs=2, progress=False).values():
        assert there[2] and all(torch.equal(p, q) for p, q in zip(model.parameters(), there[0].parameters()))
    # Another loss is another training.
    gram = TextureRecipe(**{**recipe.__dict__, "loss": "gram"})
    assert not decoded_model("gravel", gram, ext, 2, 16, 4)[2]


def test_decoded_model_names_a_resolution_with_no_truth(cache):
    from pixelflow.nca import RandomFeatures
    from pixelflow.nca.texture import TextureRecipe
    from pixelflow.workbook.protocols.resolution import decoded_model

    with pytest.raises(ValueError, match="'gravel' has no true texture 8 times finer"):
        decoded_model("gravel", TextureRecipe(), RandomFeatures(widths=(4,), seed=0), 8, 16, 4)
