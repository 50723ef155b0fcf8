"""Checkpoints and cached files are loaded with weights_only=True: a crafted pickle is refused, never run;
a checkpoint from another model or image size is a clear mismatch error."""

import pickle

import pytest
import torch
from conftest import cli, compose_run, train
from hydra.utils import instantiate

from gan_lab.errors import ConfigError
from gan_lab.metrics import Evaluator
from gan_lab.training.storage import AtomicCheckpointIO

RUN = ["train.steps=2", "samples.every=null", "metrics=none", "logger=none"]


class RunsCode:
    """Unpickling this creates a file: the proof that a load ran code."""

    def __init__(self, proof):
        self.proof = str(proof)

    def __reduce__(self):
        return (open, (self.proof, "w"))


@pytest.fixture
def crafted(tmp_path):
    proof = tmp_path / "code_ran"
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "gan_lab": {"config": {}}, "payload": RunsCode(proof)}, path)
    torch.load(path, weights_only=False)  # sanity: an unrestricted load does run it
    assert proof.exists()
    proof.unlink()
    return path, proof


def test_resuming_from_a_crafted_checkpoint_is_refused_without_running_it(tmp_path, crafted):
    path, proof = crafted
    with pytest.raises(ConfigError, match="holds more than weights"):
        train([*RUN, f"ckpt_path={path}"], tmp_path / "run")
    with pytest.raises(pickle.UnpicklingError):  # Lightning's own loading path, too
        AtomicCheckpointIO().load_checkpoint(path)
    assert not proof.exists()


@pytest.mark.parametrize("module", ["gan_lab.cli.generate", "gan_lab.cli.evaluate"])
def test_the_tools_refuse_it_in_one_line(tmp_path, crafted, module):
    path, proof = crafted
    result = cli([f"ckpt={path}"], tmp_path, module=module)
    assert result.returncode != 0 and "holds more than weights" in result.stderr
    assert "Traceback" not in result.stderr and not proof.exists()


def test_crafted_inception_weights_are_refused_before_torch_fidelity_unpickles_them(crafted):
    from gan_lab.metrics.features import InceptionExtractor

    path, proof = crafted
    with pytest.raises(ConfigError, match="metrics.inception_weights=.*holds more than weights"):
        InceptionExtractor(path)
    assert not proof.exists()


def test_a_crafted_feature_cache_is_never_run_but_recomputed(tmp_path, monkeypatch, mnist_idx):
    monkeypatch.setenv("GAN_LAB_CACHE", str(tmp_path / "cache"))
    data = [f"dataset.root={mnist_idx}", "dataset.download=false", "dataset.num_workers=0"]
    cfg = compose_run(["experiment=dcgan_mnist", *data], tmp_path / "run")
    datamodule = instantiate(cfg.dataset)

    def real_features():
        return Evaluator(cfg.metrics, datamodule, 40, 20, 0).prepare()

    real_features()  # the bundled classifier's features of the real images, cached
    (cache,) = (tmp_path / "cache").rglob("*.pt")
    honest = torch.load(cache, weights_only=True)["features"]
    proof = tmp_path / "code_ran"
    torch.save({"key": "x", "features": RunsCode(proof)}, cache)
    real_features()
    assert not proof.exists()
    assert torch.equal(torch.load(cache, weights_only=True)["features"], honest)  # recomputed, overwritten


def test_a_checkpoint_of_another_image_size_is_a_clear_mismatch(tmp_path, mnist_idx):
    data = [
        f"dataset.root={mnist_idx}",
        "dataset.download=false",
        "dataset.num_workers=0",
        "dataset.batch_size=8",
    ]
    base = ["experiment=dcgan_mnist", *RUN, *data, "system.nets.ngf=8", "system.nets.ndf=8"]
    train([*base, "dataset.image_size=32"], tmp_path / "a")
    with pytest.raises(ConfigError) as mismatch:
        train([*base, "dataset.image_size=64", "ckpt_path=" + str(tmp_path / "a/checkpoints/last.ckpt")],
              tmp_path / "b")  # fmt: skip
    message = str(mismatch.value)
    assert "another model or image size" in message and "dataset.image_size=32 there, 64 here" in message
    assert "size mismatch" not in message  # not Lightning's shape traceback


def test_a_checkpoint_of_another_model_is_a_clear_mismatch(tmp_path):
    train(RUN, tmp_path / "a")  # the quickstart MLP GAN
    with pytest.raises(ConfigError, match=r"system\.nets\.g_hidden=128 there, 32 here"):
        train(
            [*RUN, "system.nets.g_hidden=32", f"ckpt_path={tmp_path / 'a/checkpoints/last.ckpt'}"],
            tmp_path / "b",
        )
