"""Benchmark files and on-the-spot throughput sweeps (pixelflow.workbook.speed)."""

import json
import mmap

import numpy as np
import pytest

from pixelflow import ReservoirConfig
from pixelflow.workbook.outputs import repository_root
from pixelflow.workbook.speed import PEER, load_benchmarks, throughput_sweep, user_rule_rows, with_ratios

RESULTS = repository_root() / "results"


def test_reads_the_committed_peer_benchmark():
    raw = json.loads((RESULTS / "bench_peer_mnist.json").read_text())
    rows = [r for r in load_benchmarks(RESULTS) if r["source"] == "bench_peer_mnist.json"]
    ours = {r["backend"]: r for r in rows if r["implementation"] == "pixelflow"}
    assert set(ours) == set(raw["results"]["ours"]["backends"])
    peer = [r for r in rows if r["implementation"] == PEER]
    assert len(peer) == 1 and peer[0]["samples_per_s"] == raw["results"]["peer"]["median_samples_per_s"]
    for r in rows:
        assert (r["rule"], r["grid"], r["channels"], r["steps"]) == ("wave", 32, 4, 4)
        assert r["batch"] == raw["workload"]["n_images"]
        assert r["cell_updates_per_s"] == pytest.approx(r["samples_per_s"] * 32 * 32 * 4)
        assert r["device"] and r["data_split"] == "MNIST 14k-train prefix / 10k test"
        assert r["commit"] == raw["git_commit"]
    for r in with_ratios(rows):
        if r["implementation"] == "pixelflow":
            assert r["ratio"] == pytest.approx(raw["ratio_ours_over_peer"][r["backend"]])


def _row(**kw):
    row = dict(backend="cuda", rule="wave", grid=64, channels=4, steps=8, batch=1024, samples_per_s=5e4)
    row.update(kw)
    return row


def test_reads_rows_files_and_fills_defaults(tmp_path):
    rows_a = {"device": "Some GPU", "rows": [_row(), _row(batch=64, cell_updates_per_s=7.0)]}
    (tmp_path / "bench_a.json").write_text(json.dumps(rows_a))
    (tmp_path / "bench_b.json").write_text(json.dumps([_row(implementation=PEER, backend="cpu", samples_per_s=1e3,
                                                            device="CPU")]))
    (tmp_path / "other.json").write_text("not read")
    rows = load_benchmarks(tmp_path)
    assert [r["source"] for r in rows] == ["bench_a.json", "bench_a.json", "bench_b.json"]
    assert rows[0]["implementation"] == "pixelflow" and rows[0]["device"] == "Some GPU"
    assert rows[0]["cell_updates_per_s"] == pytest.approx(5e4 * 64 * 64 * 8)
    assert rows[1]["cell_updates_per_s"] == 7.0  # a stated value is kept
    assert rows[2]["implementation"] == PEER and rows[2]["device"] == "CPU"


def test_bad_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="bench"):
        load_benchmarks(tmp_path)
    bad = _row()
    del bad["samples_per_s"]
    (tmp_path / "bench_x.json").write_text(json.dumps([bad]))
    with pytest.raises(ValueError, match=r"bench_x.json: row 0 lacks samples_per_s"):
        load_benchmarks(tmp_path)


def test_sweep_measures_every_config_and_batch():
    configs = [ReservoirConfig(g, g, 2, 2, "wave") for g in (8, 16)]
    rows = throughput_sweep(configs, [1, 4, 8], repeats=2)
    assert [(r["grid"], r["batch"]) for r in rows] == [(g, b) for g in (8, 16) for b in (1, 4, 8)]
    for r in rows:
        assert np.isfinite(r["samples_per_s"]) and r["samples_per_s"] > 0
        assert len(r["times_s"]) == 2 and min(r["times_s"]) > 0
        assert r["cell_updates_per_s"] == pytest.approx(r["samples_per_s"] * r["grid"] ** 2 * 2)
        assert r["backend"] == "cpu" and r["source"] == "measured" and "numba" in r["device"]


def test_every_batch_size_is_warmed_up_before_it_is_timed(monkeypatch):
    # With one warm-up on the smallest batch, the timed repeats of the largest rose call after call.
    from pixelflow import Reservoir

    sizes, transform = [], Reservoir.transform

    def counted(self, X):
        sizes.append(len(X))
        return transform(self, X)

    monkeypatch.setattr(Reservoir, "transform", counted)
    throughput_sweep(ReservoirConfig(8, 8, 2, 1, "wave"), [2, 6], repeats=3)
    assert sizes == [2] * 4 + [6] * 4  # one untimed call, then three timed ones, at each size


def test_page_faults_are_counted_per_call_outside_the_clock(monkeypatch):
    from pixelflow.workbook import speed

    if speed.minor_faults() is None:
        pytest.skip("this platform keeps no page-fault counts")
    fresh = mmap.mmap(-1, 8 << 20)  # memory no allocator has handed out before: its first touch faults
    before = speed.minor_faults()
    for offset in range(0, len(fresh), mmap.PAGESIZE):
        fresh[offset] = 1
    assert speed.minor_faults() > before
    fresh.close()
    counts = iter([100, 190])  # before the warm-up, after the third timed call
    monkeypatch.setattr(speed, "minor_faults", lambda: next(counts))
    rows = throughput_sweep(ReservoirConfig(8, 8, 2, 1, "wave"), [3], repeats=2)
    assert rows[0]["minor_faults_per_call"] == 30.0  # 90 faults over one warm-up and two timed calls
    monkeypatch.setattr(speed, "minor_faults", lambda: None)
    assert throughput_sweep(ReservoirConfig(8, 8, 2, 1, "wave"), [3], repeats=1)[0]["minor_faults_per_call"] is None


def test_sweep_accepts_one_config_and_given_images():
    rows = throughput_sweep(ReservoirConfig(8, 8, 2, 1, "wave"), [5], repeats=1, images=np.ones((2, 4, 4)))
    assert len(rows) == 1 and rows[0]["batch"] == 5
    with pytest.raises(ValueError, match="batch sizes"):
        throughput_sweep(ReservoirConfig(8, 8, 2, 1, "wave"), [0])


def test_user_rule_rows_are_read_and_a_row_missing_a_time_is_named(tmp_path):
    assert user_rule_rows(tmp_path) == []
    row = {"rule": "heat", "grid": 32, "channels": 4, "steps": 4, "batch": 4096, "wave_transform_s": 0.05,
           "seconds": {"compiled": 0.05, "hand": 0.04, "function": 0.3}}
    (tmp_path / "bench_suite.json").write_text(json.dumps({"user_rules": [row]}))
    assert user_rule_rows(tmp_path) == [row]
    del row["seconds"]["hand"]
    (tmp_path / "bench_suite.json").write_text(json.dumps({"user_rules": [row]}))
    with pytest.raises(ValueError, match="user_rules row 0 lacks seconds/hand"):
        user_rule_rows(tmp_path)
