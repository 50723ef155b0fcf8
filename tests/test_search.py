"""Searches with Hydra's Optuna sweeper: each trial returns eval.objective's last-step value, a wrong
direction is refused before any trial, and a failed trial does not end the search."""

import json

import pytest
import yaml
from conftest import cli

from gan_lab.training.sweep import objective_value

RUN = ["train.steps=20", "eval.every=10", "samples.every=null", "logger=none", "checkpoint.every=null"]
OPTUNA = ["hydra/sweeper=optuna", "hydra.sweeper.n_trials=3", "hydra.sweeper.n_jobs=1",
          "hydra.sweeper.sampler.seed=7", "eval.objective=modes_captured"]  # fmt: skip


def test_objective_value_is_the_last_steps_evaluation():
    metrics = {"steps": 20, "eval": [{"step": 10, "modes_captured": 9}, {"step": 20, "modes_captured": 12}]}
    assert objective_value("modes_captured", metrics) == 12.0
    assert objective_value(None, metrics) is None
    assert objective_value("modes_captured", None) is None  # a failed job
    no_final = {"steps": 30, "eval": metrics["eval"]}  # no evaluation at the last step
    assert objective_value("modes_captured", no_final) is None


def test_an_optuna_search_maximizes_the_objective_over_its_trials(tmp_path):
    lr = "system.optimizers.generator.lr=tag(log,interval(1e-5,1e-2))"
    result = cli(["--multirun", *RUN, *OPTUNA, "hydra.sweeper.direction=maximize", lr, "hydra.sweep.dir=s"],
                 tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    sweep = tmp_path / "s"
    finals, lrs = {}, set()
    for job in ("0", "1", "2"):
        record = json.loads((sweep / job / "metrics.json").read_text())
        (last,) = [e for e in record["eval"] if e["step"] == 20]
        finals[job] = last["modes_captured"]
        config = yaml.safe_load((sweep / job / ".hydra/config.yaml").read_text())
        lrs.add(config["system"]["optimizers"]["generator"]["lr"])
    assert len(lrs) == 3 and all(1e-5 <= lr <= 1e-2 for lr in lrs)  # the sampler drew from the interval
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert best["best_value"] == max(finals.values())
    assert "setup plugin alembic" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["hydra.sweeper.direction=minimize"], "hydra.sweeper.direction=minimize would make modes_captured"),
        (["hydra.sweeper.direction=maximize", "eval.objective=null"], "eval.objective=null: the sweeper"),
    ],
)
def test_a_search_that_cannot_work_is_refused_before_any_trial(tmp_path, args, message):
    lr = "system.optimizers.generator.lr=tag(log,interval(1e-5,1e-2))"
    result = cli(["--multirun", *RUN, *OPTUNA, *args, lr, "hydra.sweep.dir=s"], tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(f"gan_lab: error: {message}")
    assert not (tmp_path / "s/0").exists()


def test_a_failed_trial_does_not_end_the_search(tmp_path):
    # The first trial's D learning rate cannot work; the others' can.
    choice = "system.optimizers.discriminator.lr=choice(-1,0.0002)"
    result = cli(["--multirun", *RUN, *OPTUNA, "hydra.sweeper.direction=maximize", choice,
                  "hydra.sweep.dir=s", "hydra.sweeper.sampler.seed=0"], tmp_path)  # fmt: skip
    statuses = [json.loads((tmp_path / f"s/{j}/job_status.json").read_text())["status"] for j in "012"]
    assert "failed" in statuses and "done" in statuses, statuses
    assert "jobs failed" in result.stderr and result.returncode == 1
