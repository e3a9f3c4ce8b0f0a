"""The notebooks' figures: each function returns a Figure with the expected panels."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from pixelflow import ReservoirConfig, register_rule, unregister_rule  # noqa: E402
from pixelflow.eikonal import reference_arrival_times, wave_arrival_times  # noqa: E402
from pixelflow.workbook.outputs import repository_root  # noqa: E402
from pixelflow.workbook.plotting.eikonal import (  # noqa: E402
    plot_error_maps,
    plot_profiles,
    plot_solve_times,
    relative_error,
)
from pixelflow.workbook.plotting.gallery import builtin_rules, evolve, plot_rule_gallery  # noqa: E402
from pixelflow.workbook.plotting.speed import plot_backends, plot_scaling  # noqa: E402
from pixelflow.workbook.plotting.style import MAX_HEIGHT_IN, fit_to_text, overlapping_texts  # noqa: E402
from pixelflow.workbook.speed import load_benchmarks  # noqa: E402


def _images(fig):
    return sum(len(ax.images) for ax in fig.axes)


def test_builtin_rules_leave_out_user_rules():
    register_rule("user_identity_for_test", lambda state, ctx: state, overwrite=True)
    try:
        names = builtin_rules()
    finally:
        unregister_rule("user_identity_for_test")
    assert set(names) >= {"wave", "diffusion_reaction", "life_like", "random_nca"}
    assert "user_identity_for_test" not in names


def test_gallery_has_a_row_per_rule_and_a_column_per_time():
    digit = np.zeros((12, 12), dtype=np.float32)
    digit[3:9, 5:7] = 1.0
    configs = {"wave": ReservoirConfig(16, 16, 2, 4, "wave"), "life_like": ReservoirConfig(16, 16, 1, 4, "life_like")}
    traj = evolve(configs, digit)
    assert traj["wave"].shape == (5, 2, 16, 16) and traj["life_like"].shape == (5, 1, 16, 16)
    fig = plot_rule_gallery(traj, times=(0, 2, 4), channel={"wave": 0})
    assert isinstance(fig, Figure) and len(fig.axes) == 6 and _images(fig) == 6
    assert _images(plot_rule_gallery(traj)) == 10  # every step by default
    with pytest.raises(ValueError, match="times"):
        plot_rule_gallery(traj, times=(0, 5))


def test_eikonal_figures():
    speed = np.ones((16, 16))
    src = (7.5, 7.5)
    case = {"name": "16x16", "reference": reference_arrival_times(speed, src),
            "times": wave_arrival_times(speed, src).times, "source": src}
    fig = plot_error_maps([case, case])
    assert _images(fig) == 6
    assert sum(ax.get_label() == "<colorbar>" for ax in fig.axes) == 4  # times and error, per row
    assert len(plot_profiles([case, case, case]).axes) == 3
    # Six media, as the families figure has: the rows share the printable height, and no title, row label or
    # colour-bar label runs into another (a row per medium at a fixed height printed at half size, its type too).
    families = [dict(case, name=name) for name in ("homogeneous", "two layers", "edge or corner source",
                                                   "smooth gradient", "random inclusions", "wall with a gap")]
    fig = plot_error_maps(families)
    fit_to_text(fig)
    assert fig.get_size_inches()[1] <= MAX_HEIGHT_IN and overlapping_texts(fig) == []
    rel = relative_error(np.array([1.0, 2.0, np.nan]), np.array([1.0, 1.0, 1.0]))
    assert rel[0] == 0 and rel[1] == 1 and np.isnan(rel[2])


def test_solve_time_figure_draws_each_solver_and_the_growth_line():
    fig = plot_solve_times([64, 128, 256], {"wave": [0.1, 0.5, 3.0], "fmm": [0.001, 0.004, 0.02]})
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["wave", "fmm", "∝ cells$^{1.5}$"]
    np.testing.assert_allclose(lines[2].get_ydata(), [0.1, 0.8, 6.4])  # from the first wave time, ×8 per doubling
    with pytest.raises(ValueError, match=r"seconds\['fmm'\] has 2 times for 3 grid sizes"):
        plot_solve_times([64, 128, 256], {"wave": [1, 2, 3], "fmm": [1, 2]})


def test_speed_figures():
    rows = load_benchmarks(repository_root() / "results")
    fig = plot_backends(rows)
    assert len(fig.axes) == 1 and len(fig.axes[0].patches) == len(rows)
    fig.canvas.draw()  # tick labels are made at drawing time
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert len(ticks) <= 6 and all(t == "0" or t.endswith("k") for t in ticks)
    sweep = [dict(implementation="pixelflow", backend="cpu", rule="wave", grid=g, channels=4, steps=4, batch=b,
                  samples_per_s=1e5 / g / g * b ** 0.1, cell_updates_per_s=1e5 * 16 * b ** 0.1, device="CPU")
             for g in (16, 32) for b in (8, 64)]
    fig = plot_scaling(sweep)
    assert len(fig.axes) == 2 and [len(ax.lines) for ax in fig.axes] == [2, 2]
    assert not fig.axes[0].collections  # no times, no spread
    timed = [dict(r, times_s=[r["batch"] / r["samples_per_s"] * f for f in (0.8, 1.0, 1.5)]) for r in sweep]
    band = plot_scaling(timed).axes[0].collections
    assert len(band) == 2  # one band per grid, from the slowest repeat to the fastest


def test_score_dots_ring_the_best_trial_or_bar_the_seed_mean():
    from pixelflow.workbook.plotting.timeseries import search_figure

    scores = {"NARMA-10": {"wave": [0.4, 0.3, float("nan")], "esn": [0.2, 0.25]},
              "memory": {"wave": [10.0, 30.0], "esn": [20.0]}}
    labels = {"NARMA-10": "validation NRMSE", "memory": "validation memory capacity"}
    best = search_figure(scores, labels)
    narma, memory = best.axes
    rings = [line for line in narma.lines if line.get_marker() == "o" and line.get_markersize() == 9]
    assert [float(r.get_ydata()[0]) for r in rings] == [0.3, 0.2]  # the lowest NRMSE of each reservoir
    ringed = [float(line.get_ydata()[0]) for line in memory.lines if line.get_markersize() == 9]
    assert ringed == [30.0, 20.0]  # the highest capacity
    assert "1 non-finite not shown" in narma.get_title() and "non-finite" not in memory.get_title()
    mean = search_figure(scores, labels, mark="mean")
    bars = [line for line in mean.axes[0].lines if line.get_linestyle() == "-"]
    np.testing.assert_allclose([b.get_ydata()[0] for b in bars], [0.35, 0.225])
    with pytest.raises(ValueError, match="mark must be 'best' or 'mean', got mark='median'"):
        search_figure(scores, labels, mark="median")
    # A diverged free run (NRMSE 1e20) is drawn as a triangle at the top and counted, so that the axis keeps
    # the decades where the other runs differ.
    from pixelflow.workbook.plotting.timeseries import NRMSE_SHOWN_MAX

    diverged = {"Mackey-Glass, 84-step free run": {"wave": [0.05, 0.1, 1e20], "esn": [0.02]}}
    ax = search_figure(diverged, {"Mackey-Glass, 84-step free run": "validation NRMSE"}).axes[0]
    assert max(max(line.get_ydata(), default=0) for line in ax.lines) == NRMSE_SHOWN_MAX
    assert [line.get_ydata().tolist() for line in ax.lines if line.get_marker() == "^"] == [[NRMSE_SHOWN_MAX], []]
    assert "1 above 1000 at ▲" in ax.get_title() and "free run\n" in ax.get_title()


def test_render_cost_and_image_grid_figures_leave_out_what_is_missing():
    from pixelflow.workbook.plotting.nca import images_grid_figure, render_cost_figure

    fig = render_cost_figure({"decoded": {48: (0.1, 2**20), 96: (0.3, 0)}, "fine grid": {96: (2.0, None)}})
    time_ax, memory_ax = fig.axes
    assert [list(line.get_xdata()) for line in time_ax.lines] == [[48, 96], [96]]
    # Only the positive peak is drawn, in MiB: a 0 (fitted in memory already held) or None has no logarithm.
    assert [list(line.get_ydata()) for line in memory_ax.lines] == [[1.0]]
    grid = images_grid_figure({"2x": [np.zeros((4, 4)), None, np.ones((8, 8))]}, titles=["a", "b", "c"])
    assert [len(ax.images) for ax in grid.axes] == [1, 0, 1]


def test_validation_curves_are_drawn_against_the_iteration_one_colour_per_model():
    from pixelflow.workbook.plotting.inpainting import validation_curves_figure

    fig = validation_curves_figure({("rule", 0): [(200, 0.02), (400, 0.01)], ("rule", 1): [(200, 0.03), (400, 0.02)],
                                    ("U-Net", 0): [(200, 0.05)]}, caps={"rule": 400})
    lines = fig.axes[0].get_lines()
    rule = [line for line in lines if line.get_label().startswith("rule, seed")]
    assert [list(line.get_xdata()) for line in rule] == [[200, 400], [200, 400]]
    (legend,) = fig.legends  # beside the axes, naming the cap too
    fig.draw_without_rendering()  # the layout engine places it
    assert legend.get_window_extent().x0 >= fig.axes[0].get_window_extent().x1
    assert "rule, iteration cap" in [t.get_text() for t in legend.get_texts()]
    assert rule[0].get_color() == rule[1].get_color() and rule[0].get_linestyle() != rule[1].get_linestyle()
    with pytest.raises(ValueError, match="at least one run"):
        validation_curves_figure({})
    with pytest.raises(ValueError, match="'rule', seed 0 has no validation points"):
        validation_curves_figure({("rule", 0): []})


def test_spectra_show_the_decades_that_differ_not_the_rounding_of_the_mean():
    from pixelflow.workbook.plotting.nca import SPECTRUM_DECADES, spectra_figure

    f = np.linspace(0.0, 0.5, 6)
    spectra = {"truth, 1×": (f, np.array([0.0, 1e-31, 1.0, 0.5, 0.1, 0.01])),
               "decoded NCA, 2×": (f, np.array([0.0, 1e-30, 0.8, 0.4, 0.2, 1e-3]))}
    ax = spectra_figure(spectra, nyquist=0.5).axes[0]
    low, high = ax.get_ylim()
    assert low == pytest.approx(10.0 ** -SPECTRUM_DECADES) and high == pytest.approx(2.0)
    assert [line.get_label() for line in ax.lines] == ["truth, 1×", "decoded NCA, 2×", "training-grid Nyquist"]
    assert ax.get_xlim() == pytest.approx((0.1 / 1.15, 0.5 * 1.15))  # the frequencies measured, no more
    # A method keeps its colour from one texture's figure to the next, whatever else each one shows.
    colors = {"decoded NCA, 2×": "C3"}
    only = spectra_figure({"decoded NCA, 2×": spectra["decoded NCA, 2×"]}, colors=colors).axes[0]
    both = spectra_figure(spectra, colors=colors).axes[0]
    assert only.lines[0].get_color() == both.lines[1].get_color() == "C3"


def test_a_wide_figure_is_narrowed_to_the_text_and_laid_out_again(tmp_path, monkeypatch):
    from pixelflow.workbook.outputs import save_figure
    from pixelflow.workbook.plotting.style import TEXT_WIDTH_IN, fit_to_text

    fig = Figure(figsize=(10.0, 3.4))
    left, right = fig.subplots(1, 2)
    for ax in (left, right):
        ax.plot([1, 2, 3], [10.0, 2000.0, 30000.0])
        ax.set_ylabel("a long label on the y axis")
    fig.tight_layout()
    fit_to_text(fig)
    assert fig.get_figwidth() == pytest.approx(TEXT_WIDTH_IN) and fig.get_figheight() == pytest.approx(3.4)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    # Laid out again at the new size: the left panel's tick labels do not run into the right panel's y label.
    assert left.get_tightbbox(renderer).x1 <= right.get_tightbbox(renderer).x0
    narrow = Figure(figsize=(4.0, 3.0))
    fit_to_text(narrow)
    assert tuple(narrow.get_size_inches()) == (4.0, 3.0)  # a figure narrower than the text keeps its size
    # save_figure narrows what it saves: the PNG (150 dpi) is no wider than the text.
    monkeypatch.setenv("PIXELFLOW_OUTPUT", str(tmp_path))
    wide = Figure(figsize=(12.0, 3.0))
    wide.subplots().plot([0, 1], [0, 1])
    png = save_figure(wide, "99_test", "wide", "smoke")["png"]
    from matplotlib.image import imread

    assert imread(png).shape[1] <= TEXT_WIDTH_IN * 150 + 1


def test_overlapping_texts_finds_collisions_and_spares_turned_neighbours():
    fig = Figure(figsize=(3.0, 2.0))
    ax = fig.subplots()
    ax.set_xticks(range(6), [f"a long tick label {i}" for i in range(6)])
    assert ("a long tick label 0", "a long tick label 1") in overlapping_texts(fig)
    # Turned 45°, their upright boxes still overlap, but the labels themselves do not.
    ax.set_xticks(range(6), [f"label {i}" for i in range(6)], rotation=45, ha="right")
    assert overlapping_texts(fig) == []
    # Ticks outside the view are never drawn, however they are labelled.
    ax.set_xlim(0, 5)
    ax.set_yticks([-10, 0.5], ["off the axis", "on it"])
    ax.set_ylim(0, 1)
    assert all("off the axis" not in pair for pair in overlapping_texts(fig))


def test_save_figure_warns_of_text_over_text_and_of_a_figure_taller_than_the_page(tmp_path, monkeypatch):
    from pixelflow.workbook.outputs import save_figure
    from pixelflow.workbook.plotting.style import FigureLayoutWarning

    monkeypatch.setenv("PIXELFLOW_OUTPUT", str(tmp_path))
    crowded = Figure(figsize=(3.0, 2.0))
    crowded.subplots().set_title("a title long enough to run into the next one")
    crowded.suptitle("a title long enough to run into the next one", y=0.93)
    with pytest.warns(FigureLayoutWarning, match="99_test_crowded prints text over other text: .*'a title long"):
        paths = save_figure(crowded, "99_test", "crowded", "smoke")
    assert paths["png"].is_file() and paths["pdf"].is_file()  # saved all the same
    tall = Figure(figsize=(4.0, MAX_HEIGHT_IN + 1))
    tall.subplots()
    with pytest.warns(FigureLayoutWarning, match=r"99_test_tall is 8\.4 in tall: the paper prints it shrunk"):
        save_figure(tall, "99_test", "tall", "smoke")


def test_no_committed_notebook_saved_a_figure_with_a_layout_warning():
    # The warning stays in the executed notebook's output, so that a figure drawn from a long paper-scale run,
    # which no test draws, is still caught once its notebook is committed.
    notebooks = sorted(repository_root().glob("notebooks/*.ipynb"))
    notebooks += sorted(repository_root().glob("results/*/executed/*.ipynb"))
    assert len(notebooks) >= 12
    warned = [path.name for path in notebooks if "FigureLayoutWarning" in path.read_text(encoding="utf-8")]
    assert warned == []


def test_strip_figure_fits_a_width_by_wrapping_onto_rows():
    from pixelflow.nca.render import strip_figure
    from pixelflow.workbook.plotting.style import TEXT_WIDTH_IN

    frames = np.random.default_rng(0).random((17, 24, 24))
    titles = [f"step {s}" for s in range(0, 1700, 100)]
    wide = strip_figure(frames, titles=titles)
    assert wide.get_size_inches()[0] == pytest.approx(17 * 1.6) and _images(wide) == 17
    fig = strip_figure(frames, titles=titles, max_width=TEXT_WIDTH_IN)
    width, height = fig.get_size_inches()
    assert width <= TEXT_WIDTH_IN and _images(fig) == 17
    assert width / 0.8 < 17 and height > 2 * 0.8  # frames no smaller than 0.8 in: more than one row
    assert overlapping_texts(fig) == []
    with pytest.raises(ValueError, match="max_width"):
        strip_figure(frames, max_width=0.5)
    with pytest.raises(ValueError, match="rows must be at least 1, got 0"):
        strip_figure(frames, rows=0)


def test_loss_curves_keep_their_legend_and_label_off_the_curves():
    from pixelflow.workbook.plotting.nca import loss_curves_figure

    rng = np.random.default_rng(0)
    runs = {f"{texture}, seed {s}": list(np.exp(-np.linspace(0, 3, 300)) + 0.01 * rng.random(300))
            for texture in ("Gray-Scott labyrinth", "gravel photograph") for s in range(3)}
    fig = loss_curves_figure(runs, ylabel="sliced Wasserstein loss + range penalty", smooth=50)
    fit_to_text(fig)
    assert overlapping_texts(fig) == []
    (ax,) = fig.axes
    assert ax.get_legend() is None and len(fig.legends) == 1
    assert fig.legends[0].get_window_extent().x0 >= ax.get_window_extent().x1  # beside the curves, not on them
    label, frame = ax.yaxis.label.get_window_extent(), fig.bbox
    assert frame.y0 <= label.y0 and label.y1 <= frame.y1  # the wrapped label within the figure's height
    np.testing.assert_allclose(ax.lines[0].get_xdata()[:2], [25.5, 26.5])  # each mean at its window's centre


def test_time_series_figures_put_one_legend_below_their_panels():
    from pixelflow.workbook.plotting.timeseries import forecast_figure, memory_capacity_figure

    rng = np.random.default_rng(0)
    truth = rng.standard_normal((3, 84, 1))
    forecasts = {name: truth + 0.1 * rng.standard_normal(truth.shape)
                 for name in ("ESN", "linear ESN", "diffusion_reaction")}
    curves = {name: np.clip(1 - np.arange(200) / (50 + 40 * i), 0, 1)
              for i, name in enumerate(("ESN", "linear ESN", "wave", "diffusion_reaction", "life_like", "random_nca"))}
    for fig, first in ((forecast_figure(truth, forecasts, title="Mackey-Glass"), "truth"),
                       (memory_capacity_figure(curves), "ESN (capacity 25.5)")):
        fit_to_text(fig)
        assert overlapping_texts(fig) == []
        assert all(ax.get_legend() is None for ax in fig.axes)
        (legend,) = fig.legends
        assert legend.get_texts()[0].get_text() == first
        assert all(legend.get_window_extent().y1 <= ax.xaxis.label.get_window_extent().y0 for ax in fig.axes)


def test_task_figure_names_stacked_channels_on_the_axis():
    from pixelflow.workbook.plotting.timeseries import tasks_figure

    rng = np.random.default_rng(0)
    one_hot = np.eye(4)[rng.integers(0, 4, 210)]
    panels = {"NARMA-10": (rng.random((210, 1)), rng.random((210, 1))),
              "5-bit memory (episode 11)": (one_hot, one_hot[:, :3]),
              "delay line (k = 1, 5)": (rng.random((210, 1)), rng.random((210, 2)))}
    fig = tasks_figure(panels, channels={"5-bit memory (episode 11)": (["bit", "not bit", "distractor", "cue"],
                                                                      ["bit", "not bit", "waiting"])})
    axes = np.array(fig.axes).reshape(2, 3)
    assert [t.get_text() for t in axes[0, 1].get_yticklabels()] == ["bit", "not bit", "distractor", "cue"]
    assert [t.get_text() for t in axes[1, 2].get_yticklabels()] == ["channel 1", "channel 2"]  # unnamed
    np.testing.assert_allclose(axes[0, 1].lines[3].get_ydata(), one_hot[:200, 3] + 4.5)  # stacked 1.5 apart
    fit_to_text(fig)
    assert overlapping_texts(fig) == []


def test_a_narrow_error_range_keeps_a_linear_axis_whose_labels_do_not_collide():
    # Test NRMSEs between 0.25 and 0.45 on a log axis: no power of ten to label, so matplotlib labelled the minor
    # ticks (3×10⁻¹, 4×10⁻¹), which ran into each other in a panel a third of the text wide.
    from pixelflow.workbook.plotting.timeseries import search_figure

    scores = {task: {"ESN": [0.25, 0.27], "wave": [0.41, 0.45], "random_nca": [0.3, 0.33]}
              for task in ("NARMA-10", "Mackey-Glass, one step", "Mackey-Glass, 84-step free run")}
    fig = search_figure(scores, {task: "test NRMSE" for task in scores}, mark="mean")
    fit_to_text(fig)
    assert overlapping_texts(fig) == []
    assert [ax.get_yscale() for ax in fig.axes] == ["linear"] * 3
    wide = search_figure({"NARMA-10": {"ESN": [0.01, 0.02], "wave": [0.5]}}, {"NARMA-10": "test NRMSE"})
    assert wide.axes[0].get_yscale() == "log"
