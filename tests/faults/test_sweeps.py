"""--multirun with the basic or the parallel (joblib) launcher: each job in its own folder, a failed job does
not stop the others, and the sweep ends with a summary of which jobs failed and why."""

import json

import pytest
import yaml
from conftest import cli

RUN = ["train.steps=4", "samples.every=null", "metrics=none", "logger=none", "checkpoint.every=2"]
# One job that trains, one with a value that cannot work, one that diverges (Adam steps of 1e38) mid-run.
JOBS = "train.lr_d=2e-4,-1,1e38"
LAUNCHERS = {"basic": [], "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]}


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_failed_jobs_do_not_stop_the_sweep_and_are_summarised(tmp_path, launcher):
    result = cli(["--multirun", *RUN, JOBS, *LAUNCHERS[launcher], "hydra.sweep.dir=sweep"], tmp_path)
    assert result.returncode != 0  # a sweep with failures does not pass for a success
    summary = result.stderr[result.stderr.index("gan_lab: 2 of 3 jobs failed:") :]
    assert "job 1 (" in summary and "train.lr_d=-1" in summary and "cannot work" in summary
    assert "job 2 (" in summary and "train.lr_d=1e+38" in summary and "diverged at step" in summary
    assert "job 0" not in summary

    sweep = tmp_path / "sweep"
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0", "1", "2"]
    for job, value in enumerate(JOBS.removeprefix("train.lr_d=").split(",")):
        folder = sweep / str(job)
        # Each job wrote into its own folder only: its overrides, its status, its checkpoint.
        overrides = yaml.safe_load((folder / ".hydra/overrides.yaml").read_text())
        assert [float(o.split("=")[1]) for o in overrides if o.startswith("train.lr_d=")] == [float(value)]
        status = json.loads((folder / "job_status.json").read_text())
        assert status["job"] == job and status["status"] == ("done" if job == 0 else "failed")
    assert (sweep / "0/metrics.json").is_file() and (sweep / "0/checkpoints/last.ckpt").is_file()
    assert not (sweep / "1/checkpoints").exists()  # refused before anything ran
    assert not (sweep / "2/metrics.json").exists()  # stopped, with its last good checkpoint


def test_a_sweep_without_failures_exits_zero(tmp_path):
    result = cli(["--multirun", *RUN, "seed=0,1", *LAUNCHERS["joblib"], "hydra.sweep.dir=sweep"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.parent.name for p in (tmp_path / "sweep").glob("*/metrics.json")) == ["0", "1"]
