"""Independent calls side by side in processes: the same results as one after another, failures named."""

from __future__ import annotations

from functools import partial

import pytest

from pixelflow.workbook.side_by_side import run_side_by_side


def test_texture_models_trained_side_by_side_equal_those_trained_here(tmp_path):
    torch = pytest.importorskip("torch")
    from pixelflow.nca import RandomFeatures
    from pixelflow.nca.texture import TextureRecipe, fit_and_save

    recipe = TextureRecipe(iterations=3, grid=8, channels=4, hidden=8, batch_size=2, steps=(2, 3), pool_size=4)
    ext = RandomFeatures(widths=(4,), seed=0)
    names = ("gravel", "gray_scott")
    here = {name: fit_and_save(name, recipe, ext, tmp_path / "here", progress=False) for name in names}
    there = run_side_by_side({name: partial(fit_and_save, name, recipe, ext, tmp_path / "there", progress=False)
                              for name in names}, jobs=2)
    assert list(there) == ["gravel", "gray_scott"]
    for name in here:
        (m1, i1), (m2, i2) = here[name], there[name]
        assert i1["history"] == i2["history"]
        assert all(torch.equal(p, q) for p, q in zip(m1.parameters(), m2.parameters()))
    # The two textures differ: the comparison above is not of one model with itself.
    assert here["gravel"][1]["history"] != here["gray_scott"][1]["history"]


def test_a_failure_is_raised_with_the_name_of_its_call():
    calls = {"fine": partial(pow, 2, 3), "broken": partial(int, "not a number")}
    for jobs in (1, 2):
        with pytest.raises(ValueError, match="invalid literal") as info:
            run_side_by_side(calls, jobs=jobs)
        assert any("'broken'" in note for note in info.value.__notes__)


def test_bad_calls_and_jobs_are_refused():
    with pytest.raises(TypeError, match="callables"):
        run_side_by_side({"a": 3})
    with pytest.raises(TypeError, match="callables"):
        run_side_by_side([partial(pow, 2, 3)])
    with pytest.raises(TypeError, match=r"got 0 \(int\) -> partial"):  # names the bad key, not the whole mapping
        run_side_by_side({0: partial(pow, 2, 3)})
    with pytest.raises(ValueError, match="jobs"):
        run_side_by_side({"a": partial(pow, 2, 3)}, jobs=0)
