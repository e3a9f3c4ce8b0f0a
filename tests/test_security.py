"""Untrusted files and names: neural-CA checkpoints, CIFAR-10 batches and results records.

A checkpoint or data batch may come from anywhere (a shared folder, a
download, a file planted where training resumes from), so loading one must
never run code it carries, never allocate what it merely declares, and must
fail with a ValueError that names the file. A notebook name becomes a path,
so it must not be able to leave its results folder.
"""

from __future__ import annotations

import io
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pixelflow.datasets import cifar10  # noqa: E402
from pixelflow.nca import Trainer, load_model, save_model, texture_nca  # noqa: E402
from pixelflow.nca import checkpoint as ckpt  # noqa: E402
from pixelflow.workbook import outputs  # noqa: E402
from pixelflow.workbook.results import ResultsRecord  # noqa: E402


# ------------------------------------------------------------------ neural-CA files
class Planted:
    """Unpickles by running ``code``: what a crafted checkpoint carries."""

    def __init__(self, code: str):
        self.code = code

    def __reduce__(self):
        return exec, (self.code,)


def planted(marker: Path) -> Planted:
    return Planted(f"import pathlib; pathlib.Path({str(marker)!r}).write_text('ran')")


class ConstantImage:
    def initial(self, n, generator):
        return torch.zeros(n, 4, 8, 8), None

    def loss(self, x, info=None):
        return ((x[:, 0] - 0.3) ** 2).flatten(1).mean(1)


def small_model():
    return texture_nca(channels=4, hidden=16, seed=0)


def make_trainer(path, iterations=6):
    return Trainer(small_model(), ConstantImage(), iterations=iterations, batch_size=4, steps=(2, 3), pool_size=8,
                   lr=1e-2, seed=3, progress=False, checkpoint=path, checkpoint_every=2)


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def assert_same_weights(model, expected):
    for k, v in model.state_dict().items():
        assert torch.equal(v, expected[k]), k


def raw_save(obj, path: Path) -> Path:
    # Writes exactly what is given, as a crafted file would be, past save()'s checks.
    buf = io.BytesIO()
    torch.save(obj, buf)
    path.write_bytes(buf.getvalue())
    return path


def model_file(tmp_path) -> Path:
    return save_model(small_model(), tmp_path / "model.pt", note="ok")


def training_file(tmp_path) -> Path:
    path = tmp_path / "ckpt.pt"
    make_trainer(path).fit()
    return path


def test_load_model_refuses_a_code_running_file_without_running_it(tmp_path):
    marker = tmp_path / "marker"
    good = torch.load(model_file(tmp_path), weights_only=True)
    path = raw_save({**good, "extra": {"note": planted(marker)}}, tmp_path / "shared.pt")
    with pytest.raises(ValueError, match=re.escape(str(path)) + r" refused: .*exec.*could run code"):
        load_model(path)
    assert not marker.exists()


def test_trainer_refuses_to_resume_a_code_running_checkpoint_without_running_it(tmp_path):
    marker = tmp_path / "marker"
    path = training_file(tmp_path)
    state = torch.load(path, weights_only=True)
    raw_save({**state, "history": [planted(marker)] * state["iteration"]}, path)
    trainer = make_trainer(path)
    fresh = weights(trainer.model)
    with pytest.raises(ValueError, match=re.escape(str(path)) + r" refused: .*could run code"):
        trainer.fit()
    assert not marker.exists()
    assert_same_weights(trainer.model, fresh)


def test_saved_files_hold_only_plain_values(tmp_path):
    # Both kinds must load under weights_only=True with nothing allow-listed
    # beyond torch's defaults, and hold no Counter (the scheduler's milestones).
    def kinds(value):
        if isinstance(value, dict):
            yield type(value)
            for v in value.values():
                yield from kinds(v)
        elif isinstance(value, (list, tuple)):
            yield type(value)
            for v in value:
                yield from kinds(v)
        else:
            yield type(value)

    for path in (model_file(tmp_path), training_file(tmp_path)):
        found = set(kinds(torch.load(path, weights_only=True)))
        assert found <= {dict, list, tuple, str, int, float, bool, type(None), torch.Tensor,
                         type(small_model().state_dict())}, (path, found)


def test_save_model_stores_numpy_scalars_as_numbers_and_refuses_other_objects(tmp_path):
    path = save_model(small_model(), tmp_path / "m.pt", loss=np.float32(0.25), steps=np.int64(7))
    _, extra = load_model(path)
    assert extra == {"loss": 0.25, "steps": 7}
    assert type(extra["loss"]) is float and type(extra["steps"]) is int
    with pytest.raises(TypeError, match=r"save_model extra\['curve'\] is a numpy.ndarray; .*only tensors, numbers"):
        save_model(small_model(), tmp_path / "other.pt", curve=np.arange(3))
    assert not (tmp_path / "other.pt").exists()


def corrupt(kind: str, good: bytes) -> bytes:
    return {"empty": b"", "truncated": good[: len(good) // 2], "garbage": b"not a checkpoint at all\n" * 20}[kind]


@pytest.mark.parametrize(
    "kind, reason",
    [("empty", "is empty"), ("truncated", "not a readable neural-CA file"),
     ("garbage", "not a readable neural-CA file")],
)
def test_unreadable_files_name_the_file_and_the_reason(tmp_path, kind, reason):
    bad_model = tmp_path / "bad_model.pt"
    bad_model.write_bytes(corrupt(kind, model_file(tmp_path).read_bytes()))
    with pytest.raises(ValueError, match=re.escape(str(bad_model)) + ".*" + reason):
        load_model(bad_model)

    bad_ckpt = tmp_path / "bad_ckpt.pt"
    bad_ckpt.write_bytes(corrupt(kind, training_file(tmp_path).read_bytes()))
    with pytest.raises(ValueError, match=re.escape(str(bad_ckpt)) + ".*" + reason):
        make_trainer(bad_ckpt).fit()


def test_load_model_refuses_a_training_checkpoint(tmp_path):
    path = training_file(tmp_path)
    with pytest.raises(ValueError, match=re.escape(str(path)) + " is a Trainer checkpoint .*not a saved model"):
        load_model(path)


def test_trainer_refuses_a_saved_model_as_its_checkpoint(tmp_path):
    path = model_file(tmp_path)
    with pytest.raises(ValueError, match=re.escape(str(path)) + " is a saved model .*not a Trainer checkpoint"):
        make_trainer(path).fit()


def test_load_model_names_an_unknown_builder(tmp_path):
    obj = torch.load(model_file(tmp_path), weights_only=True)
    path = ckpt.save({**obj, "spec": {"builder": "mystery_nca", "kwargs": {}}}, tmp_path / "m.pt")
    with pytest.raises(ValueError, match=re.escape(str(path)) + " names an unknown builder 'mystery_nca'; "
                       "known builders: texture_nca, attention_nca, conv_nca"):
        load_model(path)


def test_load_model_reports_weights_of_another_architecture(tmp_path):
    obj = torch.load(model_file(tmp_path), weights_only=True)
    spec = {"builder": "texture_nca", "kwargs": {**obj["spec"]["kwargs"], "hidden": 32}}
    path = ckpt.save({**obj, "spec": spec}, tmp_path / "m.pt")
    with pytest.raises(ValueError, match=re.escape(str(path)) + " holds weights that do not fit .*texture_nca"):
        load_model(path)


def test_failed_resume_names_the_file_and_leaves_the_model_alone(tmp_path):
    path = training_file(tmp_path)
    state = torch.load(path, weights_only=True)
    model = dict(state["model"])
    model["update.net.2.weight"] = torch.ones(3, 3)
    ckpt.save({**state, "model": model}, path)
    trainer = make_trainer(path)
    fresh = weights(trainer.model)
    with pytest.raises(ValueError, match=re.escape(str(path)) + " cannot be resumed: .*size mismatch"):
        trainer.fit()
    assert_same_weights(trainer.model, fresh)


# ------------------------------------------------------------------ CIFAR-10 batches
class Reconstructs:
    """Pickles as NumPy's own array recipe with the given arguments, without building any array."""

    def __init__(self, args, state=None):
        self.args, self.state = args, state

    def __reduce__(self):
        rebuild = np.zeros(1).__reduce__()[0]  # numpy's _reconstruct, wherever this NumPy keeps it
        return (rebuild, self.args) if self.state is None else (rebuild, self.args, self.state)


def write_cifar_dir(directory: Path) -> Path:
    directory.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8), b"labels": [1, 2]}
        (directory / name).write_bytes(pickle.dumps(batch, protocol=2))
    names = [n.encode() for n in "airplane automobile bird cat deer dog frog horse ship truck".split()]
    (directory / "batches.meta").write_bytes(pickle.dumps({b"label_names": names}, protocol=2))
    return directory


HUGE = (10**7, 10**7)  # 10^14 elements: 90 TiB as uint8


@pytest.mark.parametrize(
    "declared",
    [
        Reconstructs((np.ndarray, HUGE, b"B")),  # the shape handed straight to the array constructor
        Reconstructs((np.ndarray, (0,), b"b"), (1, HUGE, np.dtype(object), False, [])),  # allocated, then filled
        Reconstructs((np.ndarray, (0,), b"b"), (1, (10**7, 3072), np.dtype(np.uint8), False, b"xy")),
    ],
    ids=["constructor-shape", "object-array", "short-data"],
)
def test_cifar_batch_declaring_a_huge_array_is_refused_before_allocating(tmp_path, declared):
    directory = write_cifar_dir(tmp_path / "cifar-10-batches-py")
    bad = directory / "data_batch_1"
    bad.write_bytes(pickle.dumps({b"data": declared, b"labels": []}, protocol=2))
    assert bad.stat().st_size < 300
    with pytest.raises(ValueError, match=re.escape(str(bad)) + r": not a readable .*declares a numpy .*uint8 'data'"):
        cifar10(directory, download=False)


def test_cifar_batches_of_any_row_count_still_load(tmp_path):
    directory = write_cifar_dir(tmp_path / "cifar-10-batches-py")
    rows = np.arange(5 * 3072, dtype=np.uint8).reshape(5, 3072)
    (directory / "data_batch_3").write_bytes(
        pickle.dumps({b"data": np.asfortranarray(rows), b"labels": np.array([0, 1, 2, 3, 9])}, protocol=2))
    ds = cifar10(directory, download=False)
    assert ds.meta["n_train_available"] == 13 and type(ds.X_train) is np.ndarray
    np.testing.assert_array_equal(ds.y_train[4:9], [0, 1, 2, 3, 9])
    assert ds.X_train[4, 0, 1, 0] == np.float32(1 / 255)


# ------------------------------------------------------------------ results records
@pytest.fixture
def out_root(tmp_path, monkeypatch):
    root = tmp_path / "out"
    monkeypatch.setenv(outputs.OUTPUT_ENV_VAR, str(root))
    return root


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    "name",
    ["../../escape", "../x", "a/b", "a\\b", "..", ".", ".hidden", "", " 01", "nb\x00", "/abs/name"],
)
def test_results_record_refuses_names_that_are_not_plain(tmp_path, out_root, name):
    with pytest.raises(ValueError, match=r"notebook must be a plain name .*got " + re.escape(repr(name))):
        ResultsRecord(name, scale="smoke", parameters={})
    assert files_under(tmp_path) == []


def test_results_record_checks_its_name_again_when_saving(tmp_path, out_root):
    rec = ResultsRecord("01_mnist", scale="smoke", parameters={})
    rec.notebook = "../../escape"
    with pytest.raises(ValueError, match="notebook must be a plain name"):
        rec.save()
    assert files_under(tmp_path) == []
    with pytest.raises(TypeError, match="notebook must be a str"):
        ResultsRecord(Path("01_mnist"), scale="smoke", parameters={})


def test_plain_names_still_write_under_results(out_root):
    for name in ("01_mnist", "90_ok", "v2.1-final"):
        path = ResultsRecord(name, scale="paper", parameters={}).save("numpy")
        assert path == out_root / "results" / "paper" / f"{name}.json"


@pytest.mark.parametrize("notebook, name", [("../../escape", "fig"), ("01_mnist", "../../escape"),
                                            ("01_mnist", "a/b"), (".hidden", "fig")])
def test_figures_are_only_written_under_figures(tmp_path, out_root, notebook, name):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure()
    try:
        with pytest.raises(ValueError, match="must be a plain name"):
            outputs.save_figure(fig, notebook, name, "smoke")
        with pytest.raises(ValueError, match="must be a plain name"):
            outputs.results_path(notebook if notebook != "01_mnist" else name, "smoke")
    finally:
        plt.close(fig)
    assert files_under(tmp_path) == []
