"""Metrics where users see them: in training (metrics.json, logs, best.ckpt), and gan_lab.cli.evaluate."""

import json

import pytest
import torch
from conftest import TINY, FunctionSampler, cli, train, write_images
from test_metrics import metrics_cfg

from gan_lab.data import StackedMNISTDataModule
from gan_lab.data.images import image_transform
from gan_lab.errors import ConfigError
from gan_lab.metrics import Evaluator
from gan_lab.metrics.features import INCEPTION_URL
from gan_lab.systems import load_system, read_checkpoint
from gan_lab.training.callbacks import Evaluation

EVAL = [
    "system.lr_decay=constant",  # a 4-step and a 6-step run share their first steps only at a constant rate
    "eval.every=2",
    "eval.num_samples=300",
    "train.steps=6",
    "dataset.batch_size=32",
    "samples.every=null",
]


def test_training_evaluates_every_n_steps_and_keeps_the_best(tmp_path):
    out = tmp_path / "run"
    metrics = train(EVAL, out)
    history = metrics["eval"]
    assert [h["step"] for h in history] == [2, 4, 6]
    assert {"modes_captured", "high_quality_pct", "kl_modes"} <= history[0].keys()
    best = max(h["modes_captured"] for h in history)
    first_best_step = next(h["step"] for h in history if h["modes_captured"] == best)
    assert metrics["best"] == {"metric": "modes_captured", "value": best}
    best_ckpt = torch.load(out / "checkpoints/best.ckpt", weights_only=True)
    assert best_ckpt["system"]["steps_done"] == first_best_step
    header, *rows = (out / "csv/metrics.csv").read_text().splitlines()
    column = header.split(",").index("eval/modes_captured")
    logged = [float(r.split(",")[column]) for r in rows if r.split(",")[column]]
    assert logged == [h["modes_captured"] for h in history]


def test_a_resumed_run_keeps_its_eval_history_and_best(tmp_path):
    first = train([*EVAL, "train.steps=4"], tmp_path / "a")
    resumed = train([*EVAL, f"ckpt_path={tmp_path / 'a/checkpoints/last.ckpt'}"], tmp_path / "a")
    straight = train(EVAL, tmp_path / "b")
    assert [h["step"] for h in first["eval"]] == [2, 4]

    def scores(history):
        return [{k: v for k, v in h.items() if k != "train_time_s"} for h in history]

    assert scores(resumed["eval"]) == scores(straight["eval"])  # evaluation leaves the training RNG alone
    # The training clock goes on across the resume: the first session's records are kept, the third is later.
    times = [h["train_time_s"] for h in resumed["eval"]]
    assert times[:2] == [h["train_time_s"] for h in first["eval"]] and 0 < times[0] < times[1] < times[2]


def test_metrics_leave_the_training_run_unchanged(tmp_path, mnist_idx):
    data = ["experiment=dcgan_mnist", f"dataset.root={mnist_idx}", "dataset.download=false", *TINY]
    small = ["system.nets.ngf=8", "system.nets.ndf=8"]
    scored = train([*data, *small], tmp_path / "scored")
    plain = train([*data, *small, "metrics=none"], tmp_path / "plain")
    assert scored["eval"] and "eval" not in plain
    for key in ("loss/d", "loss/g", "d/real", "d/fake"):
        assert scored["final"][key] == plain["final"][key], key


def test_an_unknown_best_metric_is_refused_before_training(tmp_path):
    with pytest.raises(ConfigError, match="eval.best='fid_classifier' is not computed here"):
        train([*EVAL, "eval.best=fid_classifier"], tmp_path / "run")


def test_missing_inception_weights_skip_fid_and_best_but_training_goes_on(tmp_path, faces, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    overrides = ["experiment=dcgan_anime", f"dataset.root={faces}", "metrics=inception", *TINY]
    metrics = train(overrides, tmp_path / "run")
    assert metrics["steps"] == 3 and "eval" not in metrics
    assert not (tmp_path / "run/checkpoints/best.ckpt").exists()


@pytest.mark.parametrize("experiment", ["quickstart", "dcgan_mnist"])  # 2D points; NHWC images
def test_evaluate_repeats_the_training_numbers_and_writes_json(tmp_path, experiment, mnist_idx):
    data, n = [], 300
    if experiment == "dcgan_mnist":
        data, n = [f"dataset.root={mnist_idx}", "dataset.download=false"], 64
    small = ["system.nets.ngf=8", "system.nets.ndf=8"] if experiment == "dcgan_mnist" else []
    train([f"experiment={experiment}", *data, *small, *EVAL, "eval.every=null", f"eval.num_samples={n}"],
          tmp_path / "run")  # fmt: skip
    trained = json.loads((tmp_path / "run/metrics.json").read_text())["eval"][-1]
    ckpt = tmp_path / "run/checkpoints/last.ckpt"
    result = cli([f"ckpt={ckpt}", f"eval.num_samples={n}", *data], tmp_path, module="gan_lab.cli.evaluate")
    assert result.returncode == 0, result.stderr
    record = json.loads(ckpt.with_suffix(".eval.json").read_text())
    assert record["step"] == 6 and record["source"] == "generator"
    again = {k: v for k, v in trained.items() if k not in ("step", "train_time_s")}
    assert record["metrics"].keys() == again.keys()
    # The same generator, noise and real subset, in another process: the same numbers up to the order of
    # floating-point sums, which is all that may differ.
    assert record["metrics"] == pytest.approx(again, rel=1e-6, abs=1e-9)
    assert ("modes_captured" if experiment == "quickstart" else "fid_classifier") in result.stdout  # table
    if experiment == "dcgan_mnist":  # the networks come back in the layout the run trained and scored in
        checkpoint, run = read_checkpoint(ckpt)
        system = load_system(checkpoint, run, (1, 28, 28))
        conv = next(
            p for p in system.networks["discriminator"].parameters() if p.dim() == 4 and p.shape[1] > 1
        )
        assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()


def test_evaluate_scores_the_real_test_split_as_a_baseline(tmp_path, mnist_idx):
    data = [f"dataset.root={mnist_idx}", "dataset.download=false"]
    small = ["train.steps=1", "system.nets.ngf=8", "system.nets.ndf=8"]
    train(["experiment=dcgan_mnist", *data, *TINY, *small], tmp_path / "r")
    ckpt = tmp_path / "r/checkpoints/last.ckpt"
    args = [f"ckpt={ckpt}", "eval.num_samples=32", "metrics.names=[fid]"]
    fid = {}
    for source, suffix in [
        ("generator", ".eval.json"),
        ("test_split", ".eval-test_split.json"),
        ("initial", ".eval-initial.json"),
    ]:
        result = cli([*args, f"source={source}", *data], tmp_path, module="gan_lab.cli.evaluate")
        assert result.returncode == 0, result.stderr
        fid[source] = json.loads(ckpt.with_suffix(suffix).read_text())["metrics"]["fid_classifier"]
    assert fid["test_split"] < 0.5 * fid["generator"]  # held-out real images sit far closer than G(z)
    assert fid["initial"] != fid["generator"]  # one update moved the generator


def test_evaluate_names_a_bad_checkpoint_in_one_line(tmp_path):
    result = cli(["ckpt=missing.ckpt"], tmp_path, module="gan_lab.cli.evaluate")
    assert result.returncode == 1
    assert (
        result.stderr.strip().splitlines()[-1].startswith("gan_lab.cli.evaluate: error: ckpt='missing.ckpt'")
    )


@pytest.fixture(scope="module")
def dcgan_ckpt(tmp_path_factory, mnist_idx):
    out = tmp_path_factory.mktemp("dcgan")
    overrides = ["experiment=dcgan_mnist", f"dataset.root={mnist_idx}", "dataset.download=false", *TINY]
    train([*overrides, "system.nets.ngf=8", "system.nets.ndf=8", "metrics=none"], out)
    return out / "checkpoints/last.ckpt"


def test_generate_writes_a_grid_and_repeatable_files(tmp_path, dcgan_ckpt):
    for out in ("a", "b"):
        args = [f"ckpt={dcgan_ckpt}", "n=5", f"out={out}", "format=files", "seed=3"]
        assert cli(args, tmp_path, module="gan_lab.cli.generate").returncode == 0
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == [f"{i:06d}.png" for i in range(5)]
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
    result = cli([f"ckpt={dcgan_ckpt}", "n=16", "out=grid.png"], tmp_path, module="gan_lab.cli.generate")
    assert result.returncode == 0, result.stderr
    from PIL import Image

    assert Image.open(tmp_path / "grid.png").size == (8 * 30 + 2, 2 * 30 + 2)  # 8 per row, 2 px padding


def test_generate_rejects_a_bad_format(tmp_path, dcgan_ckpt):
    result = cli([f"ckpt={dcgan_ckpt}", "out=x", "format=gif"], tmp_path, module="gan_lab.cli.generate")
    assert result.returncode == 1 and "format='gif'" in result.stderr


def test_stacked_mnist_stacks_three_labelled_digits_the_same_way_every_time(mnist_idx):
    def datamodule(image_size: int = 28) -> StackedMNISTDataModule:
        return StackedMNISTDataModule(num_samples=50, root=mnist_idx, download=False, image_size=image_size,
                                      batch_size=8, num_workers=0, seed=7)  # fmt: skip

    dm = datamodule()
    stacked = dm.load("train")
    digits = dm.dataset_class(str(dm._torchvision_root()), train=True, transform=image_transform(28, 1))
    image, triple = stacked[11]
    assert image.shape == (3, 28, 28) and dm.data_shape == (3, 28, 28) and len(stacked) == 50
    sources = [
        next(i for i in range(len(digits)) if torch.allclose(digits[i][0][0], c, atol=1e-6)) for c in image
    ]
    a, b, c = (int(digits.targets[i]) for i in sources)
    assert triple == 100 * a + 10 * b + c
    assert torch.equal(datamodule().load("train")[11][0], image)
    assert datamodule(32).load("train")[11][0].shape == (3, 32, 32)


def fake_inception_weights(path, monkeypatch) -> None:
    """A weights file of the right layout holding random numbers: proves the plumbing, not the numbers."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    with monkeypatch.context() as patch:
        patch.setattr(torch.nn.Module, "load_state_dict", lambda self, state, *a, **k: None)
        empty = path.with_name("empty.pth")
        torch.save({}, empty)
        net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], str(empty))
    torch.save(net.state_dict(), path)


def test_inception_metrics_are_reported_when_the_weights_are_there(tmp_path, monkeypatch):
    weights = tmp_path / INCEPTION_URL.rsplit("/", 1)[1]
    fake_inception_weights(weights, monkeypatch)
    from gan_lab.data import ImageFolderDataModule

    dm = ImageFolderDataModule(
        root=write_images(tmp_path / "img", n=20, size=(32, 32)),
        image_size=32,
        channels=3,
        batch_size=10,
        num_workers=0,
    )
    cfg = metrics_cfg(names=["fid", "is"], features=["inception"], inception_weights=str(weights))
    evaluator = Evaluator(cfg, dm, num_samples=12, batch_size=6, seed=0)
    scores = evaluator(
        FunctionSampler(lambda z, y: torch.tanh(z[:, :3, None, None].expand(-1, 3, 32, 32)), 8)
    )
    assert set(scores) == {"fid_inception", "is_inception", "is_inception_std"}
    assert evaluator.produces() == ["fid_inception", "is_inception", "is_inception_std"]


def test_the_initial_source_rebuilds_the_generator_its_run_started_from(tmp_path):
    import pytorch_lightning as pl
    from hydra.utils import instantiate

    from gan_lab.systems import load_system, read_checkpoint
    from gan_lab.training.run import build

    train(TINY, tmp_path / "run")
    checkpoint, cfg = read_checkpoint(tmp_path / "run/checkpoints/last.ckpt")
    pl.seed_everything(cfg.seed, verbose=False)
    datamodule = instantiate(cfg.dataset)
    started = build(cfg, datamodule).networks["generator"].state_dict()
    initial = (
        load_system(checkpoint, cfg, datamodule.data_shape, trained=False).networks["generator"].state_dict()
    )
    trained = load_system(checkpoint, cfg, datamodule.data_shape).networks["generator"].state_dict()
    assert all(torch.equal(started[k], initial[k]) for k in started)
    assert not all(torch.equal(started[k], trained[k]) for k in started)


def test_a_checkpoint_between_evaluations_keeps_the_training_time_since_the_last_one(tmp_path):
    clock = Evaluation(evaluator=None, every=1000, total_steps=3000, dirpath=tmp_path, best=None)
    clock.train_time_s = 100.0  # as of the last evaluation
    clock._clock -= 5.0  # five seconds of training since: a signal now writes last.ckpt
    resumed = Evaluation(evaluator=None, every=1000, total_steps=3000, dirpath=tmp_path, best=None)
    resumed.load_state_dict(clock.state_dict())
    assert 105.0 <= resumed.train_time_s < 106.0
