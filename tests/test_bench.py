"""The benchmark suite runs and reports well-formed rows (it never asserts a speed)."""

import pytest

from pixelflow.bench import main, run_suite


def test_suite_rows_are_complete_and_consistent():
    result = run_suite(["numpy", "cpu"], ["wave", "life_like"], [8], [3], steps=2, repeats=1, life=False,
                       bandwidth_bytes=1 << 20, readout_sizes=((50, 20),), rss_samples=300)
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
