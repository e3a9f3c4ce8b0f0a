"""Content-addressed rebuilds: build stamps, staleness, the provenance guard and the paper's DRAFT mark."""

from __future__ import annotations

import json
import os
import subprocess
import types

import nbformat
import pytest

from pixelflow.workbook import build, dependencies, latex
from pixelflow.workbook.outputs import repository_root
from pixelflow.workbook.results import ResultsRecord, UncommittedChanges


@pytest.fixture
def out_root(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXELFLOW_OUTPUT", str(tmp_path))
    monkeypatch.delenv(dependencies.ALLOW_DIRTY_ENV_VAR, raising=False)
    return tmp_path


def _notebook(path, code, markdown="text", outputs=()):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(code)
    cell.outputs = [nbformat.v4.new_output("stream", text=t) for t in outputs]
    nb.cells = [nbformat.v4.new_markdown_cell(markdown), cell]
    nbformat.write(nb, str(path))
    return path


# ------------------------------------------------------------------ hashes


def test_notebook_hash_is_its_code_only(tmp_path):
    a = dependencies.notebook_sha256(_notebook(tmp_path / "a.ipynb", "x = 1"))
    assert dependencies.notebook_sha256(_notebook(tmp_path / "b.ipynb", "x = 1", "other text", ["out"])) == a
    assert dependencies.notebook_sha256(_notebook(tmp_path / "c.ipynb", "x = 2")) != a


def test_loaded_sources_are_the_package_modules_loaded_and_nothing_else():
    import pixelflow.checks
    import pixelflow.workbook.results

    fake = {"pixelflow.checks": pixelflow.checks, "pixelflow.workbook.results": pixelflow.workbook.results,
            "json": json, "pixelflow.nothing": types.ModuleType("pixelflow.nothing")}
    sources = dependencies.loaded_sources(fake)
    assert list(sources) == ["pixelflow/checks.py", "pixelflow/workbook/results.py"]
    assert sources["pixelflow/checks.py"] == dependencies.file_sha256(repository_root() / "pixelflow/checks.py")


def test_the_read_log_records_reads_under_results_and_package_data_not_writes(out_root):
    results = out_root / "results" / "paper"
    results.mkdir(parents=True)
    (results / "01_mnist.json").write_text("{}")
    (out_root / "elsewhere.txt").write_text("x")
    # A compiled-code cache beside the sources, as numba writes one (its index changes whenever another
    # process compiles, and a fresh clone has none): not an input.
    cache_dir = repository_root() / "pixelflow" / "backends" / "cpu" / "__pycache__"
    cache_dir.mkdir(exist_ok=True)
    cache = cache_dir / f"test-read-log-{os.getpid()}.nbi"
    cache.write_bytes(b"index")
    log = dependencies.ReadLog().start()
    try:
        (results / "01_mnist.json").read_text()
        (out_root / "elsewhere.txt").read_text()
        (results / "written.json").write_text("{}")
        # The test-set ledger is appended to with os.open, which reports flags and no mode: written, not read.
        fd = os.open(results / "ledger.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.close(fd)
        (results / "02_fashion_mnist.json").write_text("{}")
        os.close(os.open(results / "02_fashion_mnist.json", os.O_RDONLY))  # read with os.open: an input
        (repository_root() / "pixelflow" / "workbook" / "peers.json").read_bytes()
        (repository_root() / "pixelflow" / "checks.py").read_bytes()
        cache.read_bytes()
    finally:
        log.stop()
    (results / "after.json").write_text("{}")
    (results / "after.json").read_text()
    try:
        inputs = log.inputs(exclude=[results / "03_cifar10.json"])
    finally:
        cache.unlink()
    assert sorted(inputs) == ["pixelflow/workbook/peers.json", "results/paper/01_mnist.json",
                              "results/paper/02_fashion_mnist.json"]
    assert inputs["results/paper/01_mnist.json"] == dependencies.file_sha256(results / "01_mnist.json")


# ------------------------------------------------------------------ staleness


def _stamped(notebook="04_eikonal", sources=("pixelflow/checks.py",), inputs=None, **extra):
    root = repository_root()
    return {
        "notebook": notebook, "scale": "paper", "parameters": {"scale": "paper", "backend": "cpu", "seed": 0},
        "data": [], "provenance": {"git": {"commit": "a" * 40, "dirty": False}},
        "build": {"version": dependencies.STAMP_VERSION,
                  "notebook": {f"notebooks/{notebook}.ipynb":
                               dependencies.notebook_sha256(root / "notebooks" / f"{notebook}.ipynb")},
                  "sources": {s: dependencies.file_sha256(root / s) for s in sources},
                  "inputs": inputs or {}},
        **extra,
    }


def test_a_stamp_of_the_checkout_as_it_is_is_fresh():
    assert dependencies.stale_reasons(_stamped(), {"scale": "paper", "backend": "cpu", "seed": 0}) == []


def test_each_kind_of_change_is_a_reason_naming_the_file():
    record = _stamped(sources=("pixelflow/checks.py", "pixelflow/atomic.py"))
    record["build"]["sources"]["pixelflow/atomic.py"] = "0" * 64
    record["build"]["sources"]["pixelflow/gone.py"] = "0" * 64
    record["build"]["notebook"]["notebooks/04_eikonal.ipynb"] = "0" * 64
    record["build"]["inputs"]["results/paper/01_mnist.json"] = "0" * 64
    reasons = dependencies.stale_reasons(record, {"backend": "cuda", "seed": 0})
    assert "parameter backend was 'cpu', now 'cuda'" in reasons
    assert "pixelflow/atomic.py changed" in reasons and "pixelflow/gone.py is gone" in reasons
    assert "notebooks/04_eikonal.ipynb changed" in reasons
    assert any(r.startswith("results/paper/01_mnist.json") for r in reasons)
    assert not any("checks.py" in r for r in reasons)


def test_a_compiled_cache_an_older_stamp_recorded_is_no_reason():
    record = _stamped(inputs={"pixelflow/backends/cpu/__pycache__/wave.evolve-17.py311.nbi": "0" * 64})
    assert dependencies.stale_reasons(record) == []


def test_a_record_without_a_stamp_is_stale():
    record = _stamped()
    del record["build"]
    assert dependencies.stale_reasons(record)[0].startswith("no build stamp")
    record = _stamped()
    record["build"]["version"] = 0
    assert "version" in dependencies.stale_reasons(record)[0]


def test_a_changed_data_file_is_a_reason(tmp_path):
    (tmp_path / "train.gz").write_bytes(b"data")
    record = _stamped(data=[{"name": "MNIST", "source_dir": str(tmp_path),
                             "files": {"train.gz": dependencies.file_sha256(tmp_path / "train.gz")}}])
    assert dependencies.stale_reasons(record) == []
    (tmp_path / "train.gz").write_bytes(b"other")
    assert dependencies.stale_reasons(record) == ["data file MNIST train.gz changed"]


def test_an_edit_under_nca_stales_exactly_the_runs_that_loaded_it():
    nca = "pixelflow/nca/texture.py"
    with_nca = _stamped("06_texture_nca", sources=("pixelflow/checks.py", nca))
    without = _stamped("01_mnist", sources=("pixelflow/checks.py", "pixelflow/readouts.py"))
    edited = {str(repository_root() / nca): "f" * 64}  # the file as an edit would leave it
    assert dependencies.stale_reasons(with_nca, hashes=dict(edited)) == [f"{nca} changed"]
    assert dependencies.stale_reasons(without, hashes=dict(edited)) == []


def test_status_names_missing_stale_draft_and_fresh(out_root):
    folder = out_root / "results" / "paper"
    folder.mkdir(parents=True)
    (folder / "04_eikonal.json").write_text(json.dumps(_stamped("04_eikonal")))
    draft = _stamped("05_speedups", draft={"uncommitted": ["pixelflow/checks.py"]})
    (folder / "05_speedups.json").write_text(json.dumps(draft))
    stale = _stamped("00_quickstart")
    stale["build"]["sources"]["pixelflow/checks.py"] = "0" * 64
    (folder / "00_quickstart.json").write_text(json.dumps(stale))
    rows = {r.notebook: r for r in build.status("paper", "cpu", ["00_quickstart", "01_mnist", "04_eikonal",
                                                                 "05_speedups"])}
    assert rows["00_quickstart"].state == build.STALE and rows["00_quickstart"].reasons == [
        "pixelflow/checks.py changed"]
    assert rows["01_mnist"].state == build.MISSING
    assert rows["04_eikonal"].state == build.FRESH and not rows["04_eikonal"].needs_run
    assert rows["05_speedups"].state == build.DRAFT and rows["05_speedups"].needs_run
    text = build.format_status(list(rows.values()), "paper")
    assert "3 of 4 to rerun: 00_quickstart, 01_mnist, 05_speedups" in text


def test_a_draft_is_accepted_while_allow_dirty_is_set(monkeypatch):
    row = build.NotebookStatus("05_speedups", build.DRAFT, ["draft"])
    assert row.needs_run
    monkeypatch.setenv(dependencies.ALLOW_DIRTY_ENV_VAR, "1")
    assert not row.needs_run


def test_run_stale_checks_each_notebook_when_its_turn_comes(out_root, monkeypatch):
    folder = out_root / "results" / "paper"
    folder.mkdir(parents=True)
    for nb in ("04_eikonal", "05_speedups"):
        (folder / f"{nb}.json").write_text(json.dumps(_stamped(nb)))
    ran = []

    def fake_run(path, scale, backend, progress=True):
        ran.append(path.stem)
        # A rerun of 04 rewrites what 05 recorded as read: 05 must be found stale after it.
        record = _stamped("05_speedups", inputs={"results/paper/04_eikonal.json": "0" * 64})
        (folder / "05_speedups.json").write_text(json.dumps(record))

    import pixelflow.workbook.notebooks as runner

    monkeypatch.setattr(runner, "run_notebook", fake_run)
    (folder / "04_eikonal.json").write_text(json.dumps({**_stamped("04_eikonal"), "build": None}))
    assert build.run_stale("paper", "cpu", ["04_eikonal", "05_speedups"]) == ["04_eikonal", "05_speedups"]
    assert ran == ["04_eikonal", "05_speedups"]


def test_the_cli_rejects_an_unknown_notebook(capsys):
    assert build.main(["status", "99_nothing"]) == 1
    assert "no notebook 99_nothing" in capsys.readouterr().err


# ------------------------------------------------------------------ the guard


def test_uncommitted_lists_changed_and_untracked_files_and_none_outside_git(tmp_path):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "a.py").write_text("a")
    (tmp_path / "b.py").write_text("b")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    assert dependencies.uncommitted(["a.py", "b.py"], tmp_path) == []
    (tmp_path / "a.py").write_text("changed")
    (tmp_path / "new.py").write_text("n")
    assert dependencies.uncommitted(["a.py", "b.py", "new.py"], tmp_path) == ["a.py", "new.py"]
    assert dependencies.uncommitted(["b.py"], tmp_path) == []
    outside = tmp_path / "plain"
    outside.mkdir()
    assert dependencies.uncommitted(["x.py"], outside.parent.parent / "does-not-exist") is None


def test_the_outputs_a_build_writes_neither_make_the_code_dirty_nor_stop_a_reader(tmp_path, out_root, monkeypatch):
    from pixelflow.workbook.provenance import git_state

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    for name in ("results/paper/01_mnist.json", "figures/paper/01.png", "pixelflow/a.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("committed")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    # A build rewrites results and figures as its notebooks finish: the code is still the commit's.
    (tmp_path / "results/paper/01_mnist.json").write_text("rewritten by the build")
    (tmp_path / "figures/paper/01.png").write_text("redrawn")
    assert git_state(tmp_path)["dirty"] is False
    (tmp_path / "pixelflow/a.py").write_text("edited")
    assert git_state(tmp_path)["dirty"] is True

    # A notebook that read another's rewritten results is guarded on its code and package data only.
    seen = []
    monkeypatch.setattr(dependencies, "uncommitted", lambda paths, root=None: seen.extend(paths) or [])
    rec = ResultsRecord("09_fixed_vs_learned", "paper", {"scale": "paper"})
    rec._reads.inputs = lambda exclude=(): {"results/paper/01_mnist.json": "1" * 64,
                                            "pixelflow/workbook/peers.json": "2" * 64}
    saved = json.loads(rec.save().read_text())
    assert "draft" not in saved and "results/paper/01_mnist.json" in saved["build"]["inputs"]
    assert "pixelflow/workbook/peers.json" in seen and not any(path.startswith("results/") for path in seen)


def test_paper_results_are_not_written_from_uncommitted_code(out_root, monkeypatch):
    monkeypatch.setattr(dependencies, "uncommitted", lambda paths, root=None: ["pixelflow/checks.py"])
    rec = ResultsRecord("04_eikonal", "paper", {"scale": "paper"})
    with pytest.raises(UncommittedChanges, match=r"pixelflow/checks.py.*ALLOW_DIRTY=1"):
        rec.save()
    assert not (out_root / "results" / "paper" / "04_eikonal.json").exists()
    monkeypatch.setenv(dependencies.ALLOW_DIRTY_ENV_VAR, "1")
    saved = json.loads(rec.save().read_text())
    assert saved["draft"] == {"uncommitted": ["pixelflow/checks.py"]}
    assert dependencies.draft_reason(saved).startswith("draft: written with ALLOW_DIRTY=1")


def test_smoke_results_are_written_with_a_stamp_and_no_guard(out_root, monkeypatch):
    monkeypatch.setattr(dependencies, "uncommitted", lambda paths, root=None: ["pixelflow/checks.py"])
    saved = json.loads(ResultsRecord("04_eikonal", "smoke", {"scale": "smoke"}).save().read_text())
    assert "draft" not in saved
    stamp = saved["build"]
    assert "pixelflow/workbook/results.py" in stamp["sources"]
    assert list(stamp["notebook"]) == ["notebooks/04_eikonal.ipynb"]


def test_a_source_edited_while_the_notebook_ran_is_recorded_as_it_ran(out_root, monkeypatch):
    monkeypatch.setattr(dependencies, "uncommitted", lambda paths, root=None: [])
    rec = ResultsRecord("04_eikonal", "paper", {"scale": "paper"})
    rec._sources_at_start["pixelflow/workbook/results.py"] = "0" * 64  # as if edited after the run began
    stamp = rec.build_stamp()
    assert stamp["sources"]["pixelflow/workbook/results.py"] == "0" * 64
    assert rec.uncommitted(stamp) == ["pixelflow/workbook/results.py (edited while the notebook ran)"]
    with pytest.raises(UncommittedChanges, match="edited while the notebook ran"):
        rec.save()


def test_a_paper_run_does_not_start_from_uncommitted_code(out_root, monkeypatch):
    import pixelflow.workbook.notebooks as runner

    seen = []
    monkeypatch.setattr(dependencies, "uncommitted", lambda paths, root=None: seen.extend(paths) or ["x.py"])
    monkeypatch.setattr(runner, "_execute", lambda *a: pytest.fail("the notebook must not run"))
    with pytest.raises(UncommittedChanges, match="not running 04_eikonal at paper scale"):
        runner.run_notebook(repository_root() / "notebooks" / "04_eikonal.ipynb", "paper", "cpu")
    assert seen == ["notebooks/04_eikonal.ipynb", "pixelflow"]  # no earlier stamp: the whole package
    assert not (out_root / "results").exists()


def test_a_paper_run_of_a_notebook_outside_the_repository_is_only_a_draft(tmp_path, out_root, monkeypatch):
    import pixelflow.workbook.notebooks as runner

    nb = _notebook(tmp_path / "90_x.ipynb", "x = 1")
    monkeypatch.setattr(runner, "_execute", lambda *a: pytest.fail("the notebook must not run"))
    with pytest.raises(UncommittedChanges, match="not in the repository"):
        runner.run_notebook(nb, "paper", "cpu")


# ------------------------------------------------------------------ the PDF


def test_status_tex_is_clean_only_when_every_notebook_is_fresh(monkeypatch):
    names = ["04_eikonal", "05_speedups"]
    monkeypatch.setattr(build, "notebooks", lambda root=None: names)
    records = {nb: _stamped(nb) for nb in names}
    tex = latex.status_macros(records, "paper", "cpu")
    assert r"\pfdraftfalse" in tex and r"\newcommand{\pfdraftnotice}{}" in tex
    assert "All results come from commit aaaaaaaaaa." in tex
    records["05_speedups"]["build"]["sources"]["pixelflow/checks.py"] = "0" * 64
    records["05_speedups"]["provenance"]["git"]["commit"] = "b" * 40
    del records["04_eikonal"]
    tex = latex.status_macros(records, "paper", "cpu")
    assert r"\pfdrafttrue" in tex and r"\textbf{DRAFT.}" in tex
    assert r"\texttt{04\_eikonal} (missing)" in tex
    assert r"\texttt{05\_speedups} (stale): pixelflow/checks.py changed" in tex
    assert "The results do not come from one commit" not in tex  # one record left, one commit
    records["04_eikonal"] = _stamped("04_eikonal")
    assert "they come from 2 (aaaaaaaaaa, bbbbbbbbbb)" in latex.status_macros(records, "paper", "cpu")


def test_parallel_runs_respect_what_a_notebook_reads_and_overlap_otherwise(out_root, monkeypatch):
    import threading
    import time

    import pixelflow.workbook.notebooks as runner

    folder = out_root / "results" / "paper"
    folder.mkdir(parents=True)
    names = ["02_fashion_mnist", "03_cifar10", "06_texture_nca", "08_resolution_transfer"]
    events, lock = [], threading.Lock()

    def fake_run(path, scale, backend, progress=True):
        with lock:
            events.append(("start", path.stem))
        time.sleep(0.3)
        (folder / f"{path.stem}.json").write_text(json.dumps(_stamped(path.stem)))
        with lock:
            events.append(("end", path.stem))

    monkeypatch.setattr(runner, "run_notebook", fake_run)
    ran = build.run_stale("paper", "cpu", names, jobs=2)
    assert sorted(ran) == sorted(names)
    # 08 reads 06's models: it starts only after 06 ended.
    assert events.index(("end", "06_texture_nca")) < events.index(("start", "08_resolution_transfer"))
    # 06 and 08 need the machine to themselves, so they run first (start_order), with nothing beside them.
    assert events[:4] == [("start", "06_texture_nca"), ("end", "06_texture_nca"),
                          ("start", "08_resolution_transfer"), ("end", "08_resolution_transfer")]
    # 02 and 03 read nothing of each other: both started before either ended.
    assert set(events[4:6]) == {("start", "02_fashion_mnist"), ("start", "03_cifar10")}
    assert all(r.state == build.FRESH for r in build.status("paper", "cpu", names))


def test_a_parallel_failure_stops_new_runs_and_is_raised(out_root, monkeypatch):
    import pixelflow.workbook.notebooks as runner

    started = []

    def fake_run(path, scale, backend, progress=True):
        started.append(path.stem)
        raise runner.NotebookFailed(f"notebook {path.stem} failed in cell 3")

    monkeypatch.setattr(runner, "run_notebook", fake_run)
    with pytest.raises(runner.NotebookFailed, match="failed in cell 3"):
        build.run_stale("paper", "cpu", ["04_eikonal", "06_texture_nca", "08_resolution_transfer"], jobs=2)
    assert "08_resolution_transfer" not in started  # its upstream failed: never started


def test_jobs_must_be_a_positive_count():
    with pytest.raises(ValueError, match="jobs"):
        build.run_stale("paper", "cpu", ["04_eikonal"], jobs=0)


def test_a_notebook_a_neighbour_made_stale_runs_again_alone(out_root, monkeypatch):
    import pixelflow.workbook.notebooks as runner

    folder = out_root / "results" / "paper"
    folder.mkdir(parents=True)
    calls = []

    def fake_run(path, scale, backend, progress=True):
        calls.append(path.stem)
        record = _stamped(path.stem)
        if calls.count(path.stem) == 1 and path.stem == "05_speedups":
            # It read 04's results while 04 was being rewritten: its recorded hash is not the final file's.
            record["build"]["inputs"] = {"results/paper/04_eikonal.json": "0" * 64}
        (folder / f"{path.stem}.json").write_text(json.dumps(record))

    monkeypatch.setattr(runner, "run_notebook", fake_run)
    ran = build.run_stale("paper", "cpu", ["04_eikonal", "05_speedups"], jobs=2)
    assert sorted(ran) == ["04_eikonal", "05_speedups", "05_speedups"]
    assert all(r.state == build.FRESH for r in build.status("paper", "cpu", ["04_eikonal", "05_speedups"]))


def test_a_notebook_that_reports_timings_runs_with_nothing_beside_it(out_root, monkeypatch):
    import threading
    import time

    import pixelflow.workbook.notebooks as runner

    assert build.runs_alone("05_speedups") and build.runs_alone("02_fashion_mnist") is None
    # Every notebook whose results hold a wall time or a memory peak that the paper quotes.
    timed = {"04_eikonal", "05_speedups", "06_texture_nca", "07_attention_inpainting", "08_resolution_transfer",
             "09_fixed_vs_learned", "11_scale_out"}
    assert {nb for nb in build.notebooks() if build.runs_alone(nb)} == timed
    folder = out_root / "results" / "paper"
    folder.mkdir(parents=True)
    live, overlaps, lock = set(), [], threading.Lock()

    def fake_run(path, scale, backend, progress=True):
        with lock:
            overlaps.append((path.stem, set(live)))
            live.add(path.stem)
        time.sleep(0.2)
        (folder / f"{path.stem}.json").write_text(json.dumps(_stamped(path.stem)))
        with lock:
            live.discard(path.stem)

    monkeypatch.setattr(runner, "run_notebook", fake_run)
    build.run_stale("paper", "cpu", ["03_cifar10", "02_fashion_mnist", "05_speedups", "10_time_series"], jobs=2)
    seen = dict(overlaps)
    assert seen["05_speedups"] == set()  # nothing running when it started ...
    assert all("05_speedups" not in others for _, others in overlaps)  # ... and nothing started beside it
    assert "03_cifar10" in seen["02_fashion_mnist"] or "02_fashion_mnist" in seen["03_cifar10"]  # the others do share


def test_a_paper_run_checks_what_its_last_stamp_depended_on(out_root, monkeypatch):
    import pixelflow.workbook.notebooks as runner

    folder = out_root / "results" / "paper"
    folder.mkdir(parents=True)
    (folder / "04_eikonal.json").write_text(json.dumps(_stamped("04_eikonal", sources=("pixelflow/checks.py",))))
    seen = []
    monkeypatch.setattr(dependencies, "uncommitted", lambda paths, root=None: seen.extend(paths) or ["x.py"])
    with pytest.raises(UncommittedChanges):
        runner.run_notebook(repository_root() / "notebooks" / "04_eikonal.ipynb", "paper", "cpu")
    assert seen == ["notebooks/04_eikonal.ipynb", "pixelflow/checks.py"]
    (folder / "04_eikonal.json").write_text("{not json")
    assert dependencies.recorded_stamp(folder / "04_eikonal.json") == {}


def test_a_build_logs_its_runs_and_which_ran_beside_which(out_root, monkeypatch):
    import time

    import pixelflow.workbook.notebooks as runner

    folder = out_root / "results" / "paper"
    folder.mkdir(parents=True)

    def fake_run(path, scale, backend, progress=True):
        time.sleep(0.3 if path.stem != "05_speedups" else 0.25)  # longer than the log's 0.1 s rounding
        (folder / f"{path.stem}.json").write_text(json.dumps(_stamped(path.stem)))

    monkeypatch.setattr(runner, "run_notebook", fake_run)
    build.run_stale("paper", "cpu", ["03_cifar10", "02_fashion_mnist", "05_speedups"], jobs=2)
    (log,) = build.load_build_log(build.build_log_path("paper"))
    assert log["jobs"] == 2 and set(log["runs"]) == {"03_cifar10", "02_fashion_mnist", "05_speedups"}
    runs = log["runs"]
    assert runs["03_cifar10"]["beside"] == ["02_fashion_mnist"] and runs["02_fashion_mnist"]["beside"] == ["03_cifar10"]
    assert runs["05_speedups"]["beside"] == []  # it reports timings: it ran alone
    assert log["wall_s"] >= runs["05_speedups"]["end_s"] > runs["05_speedups"]["start_s"]

    # A later build that reruns every notebook of the first one replaces it in the log; one rerunning
    # only some keeps the first for the others.
    for nb in ("03_cifar10", "02_fashion_mnist", "05_speedups"):
        (folder / f"{nb}.json").unlink()
    build.run_stale("paper", "cpu", ["02_fashion_mnist"], jobs=1)
    logs = build.load_build_log(build.build_log_path("paper"))
    first = ["02_fashion_mnist", "03_cifar10", "05_speedups"]
    assert [sorted(b["runs"]) for b in logs] == [first, ["02_fashion_mnist"]]
    assert logs[1]["runs"]["02_fashion_mnist"]["beside"] == []
    (folder / "02_fashion_mnist.json").unlink()
    build.run_stale("paper", "cpu", ["03_cifar10", "02_fashion_mnist", "05_speedups"], jobs=1)
    assert len(build.load_build_log(build.build_log_path("paper"))) == 1


def test_a_failed_build_logs_the_runs_that_ended(out_root, monkeypatch):
    import pixelflow.workbook.notebooks as runner

    folder = out_root / "results" / "paper"
    folder.mkdir(parents=True)

    def fake_run(path, scale, backend, progress=True):
        if path.stem == "04_eikonal":
            raise runner.NotebookFailed("notebook 04_eikonal failed in cell 2")
        (folder / f"{path.stem}.json").write_text(json.dumps(_stamped(path.stem)))

    monkeypatch.setattr(runner, "run_notebook", fake_run)
    with pytest.raises(runner.NotebookFailed):
        build.run_stale("paper", "cpu", ["03_cifar10", "04_eikonal"], jobs=1)
    (log,) = build.load_build_log(build.build_log_path("paper"))
    assert list(log["runs"]) == ["03_cifar10"]


def test_a_damaged_build_log_is_named(tmp_path):
    path = tmp_path / "builds_paper.json"
    path.write_text('{"runs": 3}')
    with pytest.raises(ValueError, match="builds_paper.json.*list of builds"):
        build.load_build_log(path)


def test_the_wall_time_table_names_who_ran_beside_and_the_whole_build():
    from pixelflow.workbook.reproducibility import wall_time_table

    def record(date, commit="c" * 40):
        return {"wall_time_s": {"total": 120.0}, "provenance": {"git": {"commit": commit}, "date": date}}

    log = [{"git": {"commit": "c" * 40}, "jobs": 2, "cpu_count": 2, "wall_s": 300.0,
            "runs": {"03_cifar10": {"started": "2026-01-01T10:00:00+00:00", "start_s": 0, "end_s": 125,
                                    "beside": ["04_eikonal"]},
                     "04_eikonal": {"started": "2026-01-01T10:00:01+00:00", "start_s": 1, "end_s": 122,
                                    "beside": ["03_cifar10"]}}}]
    records = {"03_cifar10": record("2026-01-01T10:02:04+00:00"), "04_eikonal": record("2026-01-01T10:02:00+00:00")}
    table = wall_time_table(records, log)
    assert [r[2] for r in table["rows"]] == ["04", "03", None]
    assert "one build of 5.0 minutes wall, at most 2 side by side on 2 cores" in table["caption"]
    assert "one build of 5.0 minutes wall, one at a time on 2 cores." in wall_time_table(
        records, [dict(log[0], jobs=1)])["caption"]
    # Results made piecewise: the caption counts the builds and their wall time, and the widest of them.
    log.append({"git": {"commit": "c" * 40}, "jobs": 1, "cpu_count": 2, "wall_s": 900.0,
                "started": "2026-01-03T08:00:00+00:00",
                "runs": {"07_attention_inpainting": {"started": "2026-01-03T08:00:01+00:00", "start_s": 1,
                                                     "end_s": 890, "beside": []}}})
    log[0]["started"] = "2026-01-01T10:00:00+00:00"
    records["07_attention_inpainting"] = record("2026-01-03T08:14:00+00:00")
    table = wall_time_table(records, log)
    assert [r[2] for r in table["rows"]] == ["04", "03", "none", None]
    assert ("They ran in 2 builds from 2026-01-01 to 2026-01-03, 20.0 minutes of wall time in all, at most 2 side "
            "by side on 2 cores.") in table["caption"]
    del records["07_attention_inpainting"]
    # A record written outside the logged build (another commit, or dated after the run) has no entry.
    records["04_eikonal"] = record("2026-01-01T11:00:00+00:00")
    records["03_cifar10"] = record("2026-01-01T10:02:04+00:00", commit="d" * 40)
    table = wall_time_table(records, log)
    assert [r[2] for r in table["rows"]] == [None, None, None] and "ran in" not in table["caption"]
