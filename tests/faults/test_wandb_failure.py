"""W&B failing at start or mid-run: training goes on, metrics fall back to <run>/csv_fallback, said once."""

import csv
import socket
import time
from pathlib import Path

import pytest
import wandb
from conftest import TINY, train

# The quickstart GAN, logging every step, with samples and metrics twice: every kind of W&B call, in seconds.
RUN = [*TINY, "logger=wandb", "train.steps=8", "samples.every=4", "eval.every=4"]
RUN += ["trainer.log_every_n_steps=1"]


def fallback_rows(out: Path) -> list[dict]:
    with open(out / "csv_fallback" / "metrics.csv") as f:
        return list(csv.DictReader(f))


def told(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("W&B failed (")]


def assert_trained(out: Path, metrics: dict) -> None:
    assert metrics["steps"] == 8
    assert (out / "metrics.json").is_file() and (out / "checkpoints" / "last.ckpt").is_file()
    grids = sorted(p.name for p in (out / "samples").glob("step_*.png"))
    assert grids == ["step_000004.png", "step_000008.png"]
    assert wandb.run is None  # the W&B run was ended: the next run (or --multirun job) starts its own


def test_wandb_failing_mid_run_falls_back_to_csv_and_says_so_once(tmp_path, monkeypatch, caplog):
    logged_steps = []
    real_log = wandb.Run.log

    def log_then_die(run, data, *args, **kwargs):
        if len(logged_steps) == 3:  # as when the W&B process dies: every later call raises, finish() too
            raise ConnectionResetError(104, "Connection reset by peer")
        logged_steps.append(data["trainer/global_step"])
        return real_log(run, data, *args, **kwargs)

    def dead(*args, **kwargs):
        raise ConnectionResetError(104, "Connection reset by peer")

    monkeypatch.setattr(wandb.Run, "log", log_then_die)
    monkeypatch.setattr(wandb.Run, "finish", dead)
    caplog.set_level("INFO")
    metrics = train(RUN, tmp_path)

    assert_trained(tmp_path, metrics)
    assert told(caplog) == [
        "W&B failed (ConnectionResetError: [Errno 104] Connection reset by peer). Training goes on without "
        f"it: metrics now go to {tmp_path / 'csv_fallback' / 'metrics.csv'}; sample grids and videos are in "
        "the run folder's samples/ as always."
    ]
    rows = fallback_rows(tmp_path)
    # Losses of steps 1-3 went to W&B, the rest to the CSV: none lost, none twice.
    assert [int(r["step"]) for r in rows if r.get("loss/d")] == list(range(len(logged_steps) + 1, 9))
    assert [int(r["step"]) for r in rows if r.get("eval/modes_captured")] == [4, 8]
    assert any("W&B failed during this run" in r.getMessage() for r in caplog.records)


def test_wandb_init_failing_at_start_trains_and_logs_locally(tmp_path, monkeypatch, caplog):
    def unreachable(**kwargs):  # what wandb.init raises when the server cannot be reached (measured, 0.31)
        raise wandb.errors.CommError(
            'Timed out while retrying: Post "http://127.0.0.1:9/graphql": connection refused\n'
            "Consider increasing the init_timeout setting"
        )

    monkeypatch.setattr(wandb, "init", unreachable)
    secret = "sk-not-a-real-key-fallback-0123456789"
    monkeypatch.setenv("WANDB_API_KEY", secret)
    metrics = train(RUN, tmp_path)

    assert_trained(tmp_path, metrics)
    (said,) = told(caplog)
    assert said.startswith(
        'W&B failed (CommError: Timed out while retrying: Post "http://127.0.0.1:9/graphql"'
    )
    rows = fallback_rows(tmp_path)
    assert any(r.get("loss/d") for r in rows) and any(r.get("eval/modes_captured") for r in rows)
    assert "experiment_name: quickstart" in (tmp_path / "csv_fallback" / "hparams.yaml").read_text()
    for path in tmp_path.rglob("*"):  # the fallback's files, checkpoints included, hold no secret
        assert not path.is_file() or secret.encode() not in path.read_bytes(), path
    assert secret not in caplog.text


@pytest.fixture
def fresh_wandb():
    """W&B reads its environment once per process: start from scratch, and leave nothing to later tests."""
    wandb.teardown()
    yield
    wandb.teardown()


@pytest.mark.slow  # ~10 s: W&B's own login checks (~5 s each) plus init_timeout, then a fallback run
def test_an_unreachable_wandb_server_costs_seconds_not_the_run(tmp_path, monkeypatch, caplog, fresh_wandb):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.setenv("WANDB_API_KEY", "0" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb_config"))
    start = time.perf_counter()
    metrics = train([*RUN, "logger.init_timeout=2"], tmp_path)

    assert time.perf_counter() - start < 60  # W&B's default init_timeout alone would wait 90 s

    assert_trained(tmp_path, metrics)
    (said,) = told(caplog)
    assert said.startswith("W&B failed (CommError: ")
    assert any(r.get("loss/d") for r in fallback_rows(tmp_path))
