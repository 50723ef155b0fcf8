"""--multirun with the basic or the parallel (joblib) launcher: each job in its own folder, a failed job does
not stop the others, and the sweep ends with a summary of which jobs failed and why."""

import json
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml
from conftest import cli

RUN = ["train.steps=4", "samples.every=null", "metrics=none", "logger=none", "checkpoint.every=2"]
# One job that trains, one with a value that cannot work, one that diverges (Adam steps of 1e38) mid-run.
JOBS = "system.optimizers.discriminator.lr=2e-4,-1,1e38"
LAUNCHERS = {"basic": [], "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]}


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_failed_jobs_do_not_stop_the_sweep_and_are_summarised(tmp_path, launcher):
    result = cli(["--multirun", *RUN, JOBS, *LAUNCHERS[launcher], "hydra.sweep.dir=sweep"], tmp_path)
    assert result.returncode != 0  # a sweep with failures does not pass for a success
    summary = result.stderr[result.stderr.index("gan_lab: 2 of 3 jobs failed:") :]
    assert (
        "job 1 (" in summary
        and "system.optimizers.discriminator.lr=-1" in summary
        and "cannot work" in summary
    )
    assert (
        "job 2 (" in summary
        and "system.optimizers.discriminator.lr=1e+38" in summary
        and "diverged at step" in summary
    )
    assert "job 0" not in summary

    sweep = tmp_path / "sweep"
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0", "1", "2"]
    for job, value in enumerate(JOBS.removeprefix("system.optimizers.discriminator.lr=").split(",")):
        folder = sweep / str(job)
        # Each job wrote into its own folder only: its overrides, its status, its checkpoint.
        overrides = yaml.safe_load((folder / ".hydra/overrides.yaml").read_text())
        assert [
            float(o.split("=")[1]) for o in overrides if o.startswith("system.optimizers.discriminator.lr=")
        ] == [float(value)]
        status = json.loads((folder / "job_status.json").read_text())
        assert status["job"] == job and status["status"] == ("done" if job == 0 else "failed")
    assert (sweep / "0/metrics.json").is_file()
    saved = torch.load(sweep / "0/checkpoints/last.ckpt", weights_only=True)["gan_lab"]["config"]
    assert saved["system"]["optimizers"]["discriminator"]["lr"] == 2e-4  # job 0's own run, in job 0's folder
    assert not (sweep / "1/checkpoints").exists()  # refused before anything ran
    assert not (sweep / "2/metrics.json").exists()  # stopped, with its last good checkpoint


def test_a_sweep_without_failures_exits_zero(tmp_path):
    result = cli(["--multirun", *RUN, "seed=0,1", *LAUNCHERS["joblib"], "hydra.sweep.dir=sweep"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.parent.name for p in (tmp_path / "sweep").glob("*/metrics.json")) == ["0", "1"]


def test_a_failed_job_ends_its_wandb_run_so_the_next_job_starts_its_own(tmp_path):
    jobs = "system.optimizers.discriminator.lr=1e38,2e-4"  # the first diverges at once
    result = cli(["--multirun", *RUN, "logger=wandb", "logger.offline=true", jobs, "hydra.sweep.dir=sweep"],
                 tmp_path, env={"WANDB_MODE": ""})  # fmt: skip
    assert "gan_lab: 1 of 2 jobs failed" in result.stderr
    assert "will reuse" not in result.stdout + result.stderr  # W&B's words when a run is still open
    runs = {job: list((tmp_path / f"sweep/{job}/wandb").glob("offline-run-*")) for job in ("0", "1")}
    assert len(runs["0"]) == 1 and len(runs["1"]) == 1


def test_ctrl_c_stops_the_whole_sweep(tmp_path):
    command = [sys.executable, "-m", "gan_lab", "--multirun", *RUN, "train.steps=100000", "seed=0,1",
               "hydra.sweep.dir=sweep"]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # A shell's background job ignores SIGINT, and its children inherit that: Ctrl-C as in a terminal.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (tmp_path / "sweep/0/.hydra").exists():
        time.sleep(0.2)
    time.sleep(3)  # into training
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert process.returncode != 0, output
    assert not (tmp_path / "sweep/1").exists()  # job 1 never started
