import json
import logging
from types import SimpleNamespace

import pytest
import pytorch_lightning as pl
import torch
from conftest import EXPERIMENTS, PROGRESS, TINY, assert_same_state, compose_run, data_overrides, train
from hydra.utils import instantiate
from pytorch_lightning.callbacks import RichProgressBar

from gan_lab.errors import ConfigError
from gan_lab.systems.base import lr_factor
from gan_lab.training import callbacks
from gan_lab.training.callbacks import StepProgressBar
from gan_lab.training.run import build


def load(path):
    return torch.load(path, map_location="cpu", weights_only=False)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_trains_a_few_steps(tmp_path, experiment, mnist_idx, faces):
    out = tmp_path / "run"
    overrides = [f"experiment={experiment}", *TINY, *data_overrides(experiment, mnist_idx, faces)]
    if experiment.startswith(("dcgan_celeba", "dcgan_anime")):
        overrides.append("dataset.image_size=32")  # same code path, a quarter of the work
    metrics = train(overrides, out)

    assert metrics["steps"] == 3
    written = json.loads((out / "metrics.json").read_text())
    assert written["steps"] == 3 and written["images_per_sec"] > 0 and written["wall_time_s"] > 0
    assert (out / "checkpoints" / "last.ckpt").is_file()
    if experiment.startswith(("classifier", "augment", "judge")):  # augment: one job's classifier
        assert 0 <= written["final"]["test/acc"] <= 1
    elif experiment.startswith("encoder"):  # self-supervised: a loss and no samples
        assert torch.isfinite(torch.tensor(written["final"]["train/loss"]))
        assert not (out / "samples").exists()
    else:
        video = experiment.startswith("mocogan")  # two discriminators, each with its loss and scores
        keys = ("loss/d_image", "loss/d_video", "d_video/real") if video else ("loss/d", "d/real", "d/fake")
        if experiment.startswith("cyclegan"):  # two of each, and the cycle
            keys = ("loss/d_a", "loss/d_b", "loss/cycle", "loss/identity", "d_b/fake")
        for key in (*keys, "loss/g"):
            assert torch.isfinite(torch.tensor(written["final"][key])), key
        assert "step" not in written["final"]  # the loggers' x-axis, not a metric
        samples = sorted(p.name for p in (out / "samples").iterdir())
        grids = [f"step_00000{step}.{ext}" for step in (2, 3) for ext in ("gif", "mp4", "png")]
        assert samples == sorted([*PROGRESS, *(grids if video else grids[2::3])])  # clips: as videos too


def test_steps_count_generator_updates_whatever_n_critic(tmp_path):
    out = tmp_path / "run"
    metrics = train(
        ["train.steps=4", "system.n_critic=3", "samples.every=null", "checkpoint.every=null"], out
    )
    checkpoint = load(out / "checkpoints" / "last.ckpt")
    assert metrics["steps"] == 4 and checkpoint["system"]["steps_done"] == 4
    assert checkpoint["global_step"] == 16  # Lightning's count: 3 D + 1 G optimizer steps per batch
    assert [p.name for p in (out / "samples").iterdir()] == ["step_000004.png"]


def test_csv_log_uses_generator_steps_and_holds_the_logged_values(tmp_path):
    out = tmp_path / "run"
    train(["train.steps=23", "system.n_critic=2", "trainer.log_every_n_steps=5"], out)
    lines = (out / "csv" / "metrics.csv").read_text().splitlines()
    header = lines[0].split(",")
    for key in (
        "loss/d",
        "loss/g",
        "d/real",
        "d/fake",
        "lr/generator",
        "lr/discriminator",
        "perf/img_per_sec",
        "step",
    ):
        assert key in header, key
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    # Generator steps (not Lightning's global_step, 69 here): every 5th, and the last whatever train.steps is.
    assert sorted({int(r["step"]) for r in rows if r["loss/d"]}) == [5, 10, 15, 20, 23]


def test_bf16_mixed_trains_on_cpu(tmp_path):
    metrics = train(["trainer.precision=bf16-mixed", *TINY], tmp_path / "run")
    assert torch.isfinite(torch.tensor(metrics["final"]["loss/g"]))


@pytest.mark.parametrize("clip", [1e-3, None])
def test_grad_clip_bounds_each_update(tmp_path, clip):
    # Plain SGD with lr=1 moves each network by exactly its (clipped) gradient: the step size shows the clip.
    clip_value = clip or "null"
    sgd = ["optimizer=sgd", "system.optimizers.generator.lr=1", "system.optimizers.discriminator.lr=1",
           "system.optimizers.generator.momentum=0"]  # fmt: skip
    overrides = [*sgd, f"system.grad_clip={clip_value}"]
    cfg = compose_run([*overrides, "train.steps=1"], tmp_path / "init")
    pl.seed_everything(cfg.seed)
    initial = build(cfg, instantiate(cfg.dataset))
    train([*overrides, "train.steps=1"], tmp_path / "run")
    trained = load(tmp_path / "run/checkpoints/last.ckpt")["state_dict"]
    for net in ("generator", "discriminator"):
        before = {k: v.detach() for k, v in initial.named_parameters() if k.startswith(net)}
        step = torch.cat([(trained[k] - v).flatten() for k, v in before.items()]).norm()
        if clip:
            assert step <= clip * 1.01, net
        else:
            assert step > 10 * 1e-3, net


@pytest.mark.parametrize("experiment", ["quickstart", "dcgan_mnist"])
def test_resume_equals_an_uninterrupted_run(tmp_path, experiment, mnist_idx, faces):
    # A run stopped at 10 of 20 steps: its rate (the quickstart's decays) follows the full length's schedule.
    base = [f"experiment={experiment}", "dataset.num_workers=0", "dataset.batch_size=8", "samples.every=null",
            "checkpoint.every=5", "eval.num_samples=40", "system.lr_decay_steps=20",
            *data_overrides(experiment, mnist_idx, faces)]  # fmt: skip
    train([*base, "train.steps=20"], tmp_path / "straight")
    train([*base, "train.steps=10"], tmp_path / "first")
    resumed = train([*base, "train.steps=20", f"ckpt_path={tmp_path / 'first/checkpoints/last.ckpt'}"],
                    tmp_path / "resumed")  # fmt: skip
    assert resumed["steps"] == 20
    assert_same_state(tmp_path / "straight/checkpoints/last.ckpt", tmp_path / "resumed/checkpoints/last.ckpt")
    # The comparison can fail: a run that does not resume ends elsewhere.
    with pytest.raises(AssertionError):
        assert_same_state(
            tmp_path / "straight/checkpoints/last.ckpt", tmp_path / "first/checkpoints/last.ckpt"
        )


def test_metrics_json_times_the_whole_run_across_its_sessions(tmp_path):
    # A run stopped at 20 of 40 steps and resumed twice: the second resume finds it done and does no work.
    base = ["dataset.num_workers=0", "samples.every=null", "checkpoint.every=20", "eval.every=null"]
    train([*base, "train.steps=20"], tmp_path / "run")
    last = tmp_path / "run/checkpoints/last.ckpt"
    first_session = load(last)["callbacks"]["RunClock"]["seconds"]
    resumed = train([*base, "train.steps=40", f"ckpt_path={last}"], tmp_path / "run")
    both_sessions = load(last)["callbacks"]["RunClock"]["seconds"]
    again = train([*base, "train.steps=40", f"ckpt_path={last}"], tmp_path / "run")
    assert resumed["wall_time_s"] >= both_sessions > first_session > 0
    assert again["steps"] == 40 and again["wall_time_s"] >= both_sessions  # not the last process's alone
    assert again["images_per_sec"] == resumed["images_per_sec"] > 0  # nothing timed in the last session


def test_checkpoint_keeps_config_and_fixed_noise(tmp_path):
    train(["train.steps=2", "samples.num=16"], tmp_path / "run")
    checkpoint = load(tmp_path / "run/checkpoints/last.ckpt")
    assert checkpoint["gan_lab"]["config"]["experiment_name"] == "quickstart"
    assert checkpoint["state_dict"]["fixed_z"].shape == (16, 2)
    assert "rng_states" in checkpoint["system"] and len(checkpoint["optimizer_states"]) == 2


def test_a_failed_checkpoint_write_leaves_the_previous_one_intact(tmp_path, monkeypatch):
    out = tmp_path / "run"
    train(["train.steps=2"], out)
    path = out / "checkpoints" / "last.ckpt"
    before = path.read_bytes()

    def half_write_then_fail(checkpoint, f):
        f.write(b"half a checkpoint")
        raise OSError("disk full (simulated) half-way through the write")

    # Resume into the same run folder, so the failing save targets the very last.ckpt we hold.
    monkeypatch.setattr(torch, "save", half_write_then_fail)
    with pytest.raises(OSError, match="simulated"):
        train(["train.steps=4", "checkpoint.every=1", f"ckpt_path={path}"], out)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert load(path)["system"]["steps_done"] == 2


def test_the_step_is_the_systems_own_count_whatever_n_critic_was(tmp_path):
    """Lightning's global_step counts optimizer steps (n_critic + 1 per step); the step a user sees is the
    system's own counter, so a run resumed with another n_critic goes on counting generator updates."""
    out = tmp_path / "run"
    train(["train.steps=2", "system.n_critic=3"], out)
    checkpoint = load(out / "checkpoints/last.ckpt")
    assert checkpoint["system"]["steps_done"] == 2 and checkpoint["global_step"] == 8
    resume = f"ckpt_path={out / 'checkpoints/last.ckpt'}"
    metrics = train(["train.steps=4", "system.n_critic=1", resume], tmp_path / "b")
    assert metrics["steps"] == 4 and load(tmp_path / "b/checkpoints/last.ckpt")["system"]["steps_done"] == 4


@pytest.mark.parametrize(
    "switch", ["train.channels_last=false", pytest.param("train.compile=true", marks=pytest.mark.slow)]
)
def test_speed_switches_train_and_keep_checkpoints_interchangeable(tmp_path, switch, mnist_idx, faces):
    base = ["experiment=dcgan_mnist", *TINY, "metrics=none", *data_overrides("dcgan_mnist", mnist_idx, faces)]
    train(base, tmp_path / "plain")
    train([*base, switch], tmp_path / "switched")
    plain, switched = (
        load(tmp_path / f"{r}/checkpoints/last.ckpt")["state_dict"] for r in ("plain", "switched")
    )
    assert plain.keys() == switched.keys()  # the same names: either run's checkpoint serves the other
    # Same seed, same data: the layout or the compiler changes rounding at most.
    for name, tensor in plain.items():
        assert torch.allclose(tensor.float(), switched[name].float(), atol=1e-3), name
    resumed = train([*base, "train.steps=4", f"ckpt_path={tmp_path / 'switched/checkpoints/last.ckpt'}"],
                    tmp_path / "resumed")  # fmt: skip
    assert resumed["steps"] == 4


def test_channels_last_is_the_default_for_image_models_only(tmp_path, mnist_idx, faces):
    def built(experiment: str):
        overrides = [f"experiment={experiment}", *data_overrides(experiment, mnist_idx, faces)]
        cfg = compose_run(overrides, tmp_path)
        return build(cfg, instantiate(cfg.dataset))

    dcgan, mlp = built("dcgan_mnist"), built("quickstart")
    assert dcgan.channels_last and not mlp.channels_last  # 2D points have no layout: the default leaves them
    conv = next(p for p in dcgan.discriminator.parameters() if p.dim() == 4 and p.shape[1] > 1)
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()


def test_progress_bar_redraws_at_most_every_interval_and_at_the_last_step(monkeypatch):
    drawn = []
    monkeypatch.setattr(
        RichProgressBar, "on_train_batch_end", lambda self, t, module, *a: drawn.append(module.steps_done)
    )
    bar, module = StepProgressBar(total_steps=6, min_interval=3600), SimpleNamespace(steps_done=0)
    for module.steps_done in range(1, 7):
        bar.on_train_batch_end(None, module, None, None, module.steps_done - 1)
    assert drawn == [1, 6]  # the first step, then nothing within the hour but the last
    bar.min_interval = 0
    bar.on_train_batch_end(None, module, None, None, 6)
    assert drawn == [1, 6, 6]


def test_progress_lines_come_every_twentieth_of_the_run_with_the_time_left_at_this_sessions_pace(
    monkeypatch, caplog
):
    now = [1000.0]
    monkeypatch.setattr(callbacks.time, "monotonic", lambda: now[0])
    throughput = SimpleNamespace(mean=250.4)
    lines, module = (
        callbacks.ProgressLines(total_steps=100, throughput=throughput),
        SimpleNamespace(steps_done=60),
    )
    lines.on_train_start(None, module)  # resumed at step 60: the pace counts from here
    with caplog.at_level(logging.INFO):
        for module.steps_done in range(61, 101):
            now[0] += 3.0  # 3 s a step
            lines.on_train_batch_end(None, module)
    said = [r.getMessage() for r in caplog.records if "| step " in r.getMessage()]
    assert (
        len(said) == 8 and said[0] == "gan_lab | step 65/100 (65%) | 250 img/s | 0:00:15 spent, 0:01:45 left"
    )
    assert said[-1] == "gan_lab | step 100/100 (100%) | 250 img/s | 0:02:00 spent, 0:00:00 left"
    assert callbacks.clock(3 * 3600 + 62) == "3:01:02"
    throughput.mean, module.steps_done = 0.0, 5  # no step timed yet: no rate rather than "0 img/s"
    lines.on_train_batch_end(None, module)
    assert caplog.records[-1].getMessage().startswith("gan_lab | step 5/100 (5%) | 0:")


def test_a_decaying_learning_rate_follows_the_step_and_resumes_exactly(tmp_path):
    base = ["dataset.batch_size=8", "samples.every=null", "checkpoint.every=5", "eval.num_samples=40",
            "system.lr_decay=cosine", "system.lr_decay_steps=20", "system.optimizers.generator.lr=2e-4",
            "system.optimizers.discriminator.lr=2e-4"]  # fmt: skip
    train([*base, "train.steps=20"], tmp_path / "straight")
    train([*base, "train.steps=10"], tmp_path / "first")
    train(
        [*base, "train.steps=20", f"ckpt_path={tmp_path / 'first/checkpoints/last.ckpt'}"],
        tmp_path / "resumed",
    )
    assert_same_state(tmp_path / "straight/checkpoints/last.ckpt", tmp_path / "resumed/checkpoints/last.ckpt")
    # The last update of step 9 ran at cos(pi * 9/20) of the rate, of step 19 at cos(pi * 19/20): near 0.
    for run, step in (("first", 9), ("straight", 19)):
        lrs = [
            opt["param_groups"][0]["lr"]
            for opt in load(tmp_path / run / "checkpoints/last.ckpt")["optimizer_states"]
        ]
        assert lrs == pytest.approx([2e-4 * lr_factor("cosine", step, 20)] * 2)
    assert lr_factor("cosine", 19, 20) < 0.01 < lr_factor("cosine", 9, 20) == pytest.approx(0.578, abs=1e-3)
    assert [lr_factor("linear", s, 4) for s in range(5)] == [1.0, 0.75, 0.5, 0.25, 0.0]


def test_a_decay_can_start_after_a_share_of_the_run_at_the_full_rate(tmp_path):
    # Linear from half of 20 steps: the last update of step 14 runs at 1 - (14 - 10) / 10 of the rate.
    rates = ["system.optimizers.generator.lr=2e-4", "system.optimizers.discriminator.lr=2e-4"]
    decay = ["system.lr_decay=linear", "system.lr_decay_steps=20", "system.lr_decay_from=0.5"]
    train(["dataset.batch_size=8", "samples.every=null", "eval.every=null", "train.steps=15", *decay, *rates],
          tmp_path)  # fmt: skip
    states = load(tmp_path / "checkpoints/last.ckpt")["optimizer_states"]
    lrs = [state["param_groups"][0]["lr"] for state in states]
    assert lrs == pytest.approx([2e-4 * 0.6] * 2)


def test_an_unknown_learning_rate_decay_is_refused_in_one_line(tmp_path):
    with pytest.raises(ConfigError, match="system.lr_decay='step' is unknown: use one of constant, linear"):
        train(["train.steps=2", "system.lr_decay=step"], tmp_path)
