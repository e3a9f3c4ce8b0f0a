"""The benchmark suite runs and reports well-formed rows (it never asserts a speed)."""

import pytest

from pixelflow.workbook.bench import main, run_suite


def test_suite_rows_are_complete_and_consistent():
    result = run_suite(["numpy", "cpu"], ["wave", "life_like"], [8], [3], steps=2, repeats=1, life=False,
                       bandwidth_bytes=1 << 20, readout_sizes=((50, 20),), rss_samples=300, user_rules=False)
    rows = result["rows"]
    assert len(rows) == 4
    for row in rows:
        assert row["samples_per_s"] > 0
        assert row["cell_updates_per_s"] == pytest.approx(row["samples_per_s"] * 8 * 8 * 2)
        assert 0 < row["fraction_of_bandwidth_bound"]
    assert result["readout"][0]["fit_seconds"] > 0
    assert result["provenance"]["packages"]["numpy"]
    mem = result["memory"][0]
    assert mem["output_bytes"] == 300 * 4096 * 4 and mem["peak_rss_bytes"] > mem["output_bytes"]


def test_cli_rejects_unknown_backend(tmp_path):
    with pytest.raises(ValueError, match="unknown backend"):
        main(["--backends", "opencl", "--out", str(tmp_path / "x.json")])


def test_life_rows_put_cax_beside_each_workload(monkeypatch):
    from pixelflow.workbook import bench

    monkeypatch.setattr(bench, "LIFE_WORKLOADS", ((2, 16), (5, 8)))
    calls = []

    def fake_cax(python, boards, size, steps, repeats):
        calls.append((python, boards, size, steps))
        return {"library": "cax", "boards": boards, "size": size, "cell_updates_per_s": 1e6}

    monkeypatch.setattr(bench, "cax_life_row", fake_cax)
    rows = bench.life_rows(["cpu"], repeats=1, cax_python="/opt/cax/python", steps=3)
    assert calls == [("/opt/cax/python", 2, 16, 3), ("/opt/cax/python", 5, 8, 3)]
    ours = [r for r in rows if r["library"] == "pixelflow"]
    assert [(r["boards"], r["size"]) for r in ours] == [(2, 16), (5, 8)]
    for r in ours:
        assert r["speedup_vs_cax"] == pytest.approx(r["cell_updates_per_s"] / 1e6)
    assert "speedup_vs_cax" not in bench.life_rows(["cpu"], repeats=1, steps=3)[0]


def test_user_rule_rows_time_every_path_and_report_parity():
    from pixelflow.workbook.user_rules_bench import user_rule_rows

    rows = user_rule_rows(batch=5, repeats=1, workloads=((8, 2, 2),))
    assert [r["rule"] for r in rows] == ["heat", "lenia_like"]
    for row in rows:
        assert row["rule_path"] == "compiled"
        assert set(row["seconds"]) == {"compiled", "hand", "function"} and min(row["seconds"].values()) > 0
        assert row["compiled_over_hand"] == pytest.approx(row["seconds"]["compiled"] / row["seconds"]["hand"])
        # Every path computes the rule function's features (the hand-fused ones are checked bit for bit elsewhere).
        assert max(row["max_abs_difference"].values()) <= 1e-5
