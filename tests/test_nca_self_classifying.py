"""Self-classifying digits: the task's constraints and loss, batch-independent votes, a toy task learned, bad input."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pixelflow.nca import Trainer, conv_nca  # noqa: E402
from pixelflow.nca.self_classifying import SelfClassifyingTask, cell_votes, classify, living_cells  # noqa: E402


def bars(n, seed, size=8):
    """Class 0: a horizontal bar, class 1: a vertical bar, each at a random place (a digit-like toy)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, size, size), np.float32)
    labels = rng.integers(0, 2, n)
    for img, label, at in zip(images, labels, rng.integers(1, size - 1, n)):
        if label == 0:
            img[at, 1 : size - 1] = 1.0
        else:
            img[1 : size - 1, at] = 1.0
    return images, labels


def test_empty_cells_stay_empty_and_every_cell_keeps_its_pixel():
    images, labels = bars(3, 0)
    task = SelfClassifyingTask(images, labels, channels=6, classes=2)
    x, info = task.initial(3, torch.Generator().manual_seed(0))
    assert x.shape == (3, 6, 8, 8) and torch.equal(x[:, 0], info[0])
    scrambled = task.constrain(torch.randn(3, 6, 8, 8), info)
    alive = info[1][:, None]
    assert torch.equal(scrambled[:, 0], info[0])
    assert torch.all(scrambled[:, 1:][~alive.expand(-1, 5, -1, -1)] == 0)


def test_the_loss_is_the_mean_error_of_the_living_cells_alone():
    images, labels = bars(2, 1)
    task = SelfClassifyingTask(images, labels, channels=5, classes=2)
    x, info = task.initial(2, torch.Generator().manual_seed(1))
    _, alive, y = info
    right = x.clone()
    right[:, -2:] = torch.nn.functional.one_hot(y, 2).float()[:, :, None, None]
    right[:, -2:] *= alive[:, None]
    assert torch.all(task.loss(right, info) == 0)
    right[:, -2:][~alive[:, None].expand(-1, 2, -1, -1)] = 7.0  # what empty cells hold does not count
    assert torch.all(task.loss(right, info) == 0)
    wrong = right.clone()
    wrong[:, -2:] = torch.nn.functional.one_hot(1 - y, 2).float()[:, :, None, None]
    torch.testing.assert_close(task.loss(wrong, info), torch.full((2,), 2.0))  # each cell: two unit errors


def test_votes_count_the_living_cells_per_class():
    states = torch.zeros(1, 4, 2, 2)
    states[0, -2:, 0, 0] = torch.tensor([0.9, 0.1])
    states[0, -2:, 0, 1] = torch.tensor([0.2, 0.8])
    states[0, -2:, 1, 0] = torch.tensor([0.3, 0.7])
    alive = torch.tensor([[[True, True], [True, False]]])
    assert cell_votes(states, alive, 2).tolist() == [[1, 2]]


def test_a_rule_learns_the_toy_task_and_its_votes_do_not_depend_on_the_batch():
    images, labels = bars(64, 2)
    task = SelfClassifyingTask(images, labels, channels=8, classes=2)
    model = conv_nca(channels=8, perception=16, hidden=32, seed=0)
    Trainer(model, task, iterations=150, batch_size=8, steps=(8, 12), lr=3e-3, progress=False).fit()
    test, truth = bars(24, 3)
    out = classify(model, task, test, steps=12)
    assert (out["predicted"] == truth).mean() >= 0.9
    assert np.all((0 < out["agreement"]) & (out["agreement"] <= 1))
    from pixelflow.nca.self_classifying import classification_error

    error = classification_error(task, test, truth, 12, 0, model)
    assert error == pytest.approx(max((out["predicted"] != truth).mean(), 0.5 / len(truth)))
    alone = [classify(model, task, test[i : i + 1], steps=12)["votes"][0] for i in (0, 5, 17)]
    np.testing.assert_array_equal(np.stack(alone), out["votes"][[0, 5, 17]])
    np.testing.assert_array_equal(classify(model, task, test[::-1], steps=12)["votes"], out["votes"][::-1])


def test_the_inputs_a_user_will_type():
    images, labels = bars(4, 4)
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.1"):
        SelfClassifyingTask(images, labels + 1, channels=6, classes=2)
    with pytest.raises(ValueError, match="4 integers"):
        SelfClassifyingTask(images, labels[:3], channels=6, classes=2)
    with pytest.raises(ValueError, match="4 integers"):
        SelfClassifyingTask(images, labels.astype(float), channels=6, classes=2)
    with pytest.raises(ValueError, match="channels"):
        SelfClassifyingTask(images, labels, channels=3, classes=2)
    blank = images.copy()
    blank[2] = 0.0
    with pytest.raises(ValueError, match="index 2"):
        SelfClassifyingTask(blank, labels, channels=6, classes=2)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        SelfClassifyingTask(images * 255, labels, channels=6, classes=2)
    task = SelfClassifyingTask(images, labels, channels=6, classes=2)
    with pytest.raises(ValueError, match="no pixel above"):
        classify(conv_nca(channels=6, perception=8, hidden=8), task, blank, steps=2)
    assert living_cells(torch.tensor([[[0.05, 0.5]]])).tolist() == [[[False, True]]]
