"""Shared helpers: real Hydra composition into a temporary run folder, tiny datasets on disk, the CLI."""

import gzip
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict
from PIL import Image

import gan_lab.config.schema  # noqa: F401  (registers the schema conf/train.yaml composes with)
from gan_lab.nets import latent_noise
from gan_lab.paths import config_dir

if os.environ.get("PYTEST_XDIST_WORKER"):
    # The workers share the cores: one thread each (and in the processes they start), or each would spin
    # waiting for threads the other's work holds.
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
EXPERIMENTS = sorted(p.stem for p in (config_dir() / "experiment").glob("*.yaml"))

# Small, fast settings on top of any experiment: the real code paths, a fraction of the work.
TINY = [
    "train.steps=3",
    "dataset.num_workers=0",
    "dataset.batch_size=8",
    "samples.every=2",
    "checkpoint.every=2",
    "eval.num_samples=40",
    "eval.batch_size=16",
    "metrics.inception_download=false",  # tests never download
]


PROGRESS = ["progress.gif", "progress.mp4"]  # what a run with two or more sample grids ends by writing


class FunctionSampler:
    """Stands where a system does for the evaluator (its `sample_batches` and `device`), with samples made by
    `make(z, y)` from seeded noise: lets a test score a generator it wrote by hand."""

    device = torch.device("cpu")

    def __init__(self, make, nz: int, num_classes: int = 0) -> None:
        self.make, self.nz, self.num_classes = make, nz, num_classes

    def sample_batches(self, n: int, seed: int, labels=None, batch_size: int = 500):
        z = latent_noise(n, self.nz, seed)
        y = torch.arange(n) % self.num_classes if self.num_classes else None
        for start in range(0, n, batch_size):
            part = y[start : start + batch_size] if y is not None else None
            yield self.make(z[start : start + batch_size], part), part


def shared(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"{path} is absent: the real datasets live in ../shared/data beside the project")
    return path


def assert_same_state(a: Path, b: Path) -> None:
    """Two checkpoints hold the same weights, buffers and optimizer states, bit for bit."""
    state_a, state_b = (torch.load(p, map_location="cpu", weights_only=False) for p in (a, b))
    assert state_a["state_dict"].keys() == state_b["state_dict"].keys()
    for key, value in state_a["state_dict"].items():
        assert torch.equal(value, state_b["state_dict"][key]), key
    for opt_a, opt_b in zip(state_a["optimizer_states"], state_b["optimizer_states"], strict=True):
        for slot, tensors in opt_a["state"].items():
            for name, value in tensors.items():
                assert torch.equal(torch.as_tensor(value), torch.as_tensor(opt_b["state"][slot][name])), name


def generate_cfg(overrides: list[str]) -> DictConfig:
    """conf/generate.yaml composed as `python -m gan_lab.cli.generate` would."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        return compose("generate", overrides=overrides)


def compose_run(overrides: list[str], out: Path) -> DictConfig:
    """Compose conf/train.yaml as `python -m gan_lab` would, with the run folder at `out`."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(out)
        cfg.hydra.job.num = 0
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.output_dir = str(out)
        del cfg.hydra
    return cfg


def train(overrides: list[str], out: Path) -> dict:
    from gan_lab.training.run import run

    return run(compose_run(overrides, out))


def cli(
    args: list[str], cwd: Path, env: dict | None = None, timeout: int = 300, module: str = "gan_lab"
) -> subprocess.CompletedProcess:
    """Run `python -m MODULE ARGS` (gan_lab, gan_lab.cli.evaluate, ...) in `cwd` as a user would."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "HYDRA_FULL_ERROR": "0", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_idx(folder: Path, n_train: int = 64, n_test: int = 32, seed: int = 0) -> Path:
    """The four MNIST IDX .gz files, as distributed, holding random 28x28 digits with labels 0..9."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(struct.pack(">IIII", 2051, n, 28, 28) + images.tobytes())
        with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(struct.pack(">II", 2049, n) + labels.tobytes())
    return folder


def write_images(
    folder: Path, n: int = 16, size: tuple[int, int] = (64, 64), mode: str = "RGB", ext: str = "jpg"
):
    rng = np.random.default_rng(n)
    folder.mkdir(parents=True, exist_ok=True)
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    for i in range(n):
        pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
        Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode).save(folder / f"{i:04d}.{ext}")
    return folder


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Keep caches, W&B state and credentials out of the user's home."""
    monkeypatch.setenv("GAN_LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb"))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    yield
    GlobalHydra.instance().clear()


@pytest.fixture(scope="session")
def mnist_idx(tmp_path_factory) -> Path:
    return write_idx(tmp_path_factory.mktemp("mnist"))


CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
    "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup "
    "High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose "
    "Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat "
    "Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
)


def write_celeba_tables(folder: Path, smiling: list[bool], identities: list[int]) -> Path:
    """CelebA's list_attr_celeba.txt (its 40 attributes: Smiling as given, the others -1) and
    identity_CelebA.txt for the images of `folder`, in name order."""
    files = sorted(p.name for p in folder.glob("*.jpg"))
    names = CELEBA_ATTRIBUTES.split()
    column = names.index("Smiling")
    rows = [" ".join([f, *("-1" if i != column else ("1" if smile else "-1") for i in range(len(names)))])
            for f, smile in zip(files, smiling, strict=True)]  # fmt: skip
    (folder / "list_attr_celeba.txt").write_text("\n".join([str(len(files)), " ".join(names), *rows]) + "\n")
    lines = [f"{f} {person}" for f, person in zip(files, identities, strict=True)]
    (folder / "identity_CelebA.txt").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture(scope="session")
def faces(tmp_path_factory) -> Path:
    """24 random 64x64 'faces', CelebA-like: every other one smiling, two images per person."""
    folder = write_images(tmp_path_factory.mktemp("faces"), n=24)
    return write_celeba_tables(folder, [i % 2 == 1 for i in range(24)], [i // 2 for i in range(24)])


def data_overrides(experiment: str, mnist: Path, faces: Path) -> list[str]:
    """Point an experiment at tiny generated data of the right layout."""
    if "mnist" in experiment:
        extra = {
            "classifier": ["dataset.val_size=16"],
            "augment": ["dataset.per_class=2"],
            "judge": ["dataset.num_samples=64", "dataset.val_size=16"],
        }.get(experiment.split("_")[0], [])
        return [f"dataset.root={mnist}", "dataset.download=false", *extra]
    if experiment.startswith(("dcgan_celeba", "dcgan_anime", "encoder_faces")):
        return [f"dataset.root={faces}"]
    if experiment.startswith(("cyclegan", "classifier_selfie")):  # both domains from the CelebA-like faces,
        extra = ["dataset.val_size=4"] if experiment.startswith("classifier") else []  # half held out
        return [
            *extra,
            *(f"dataset.domain_{d}.{key}" for d in "ab" for key in (f"root={faces}", "test_share=0.5")),
        ]
    if experiment == "classifier_celeba_attributes":
        return [f"dataset.root={faces}", "dataset.test_share=0.5", "dataset.val_size=4"]
    return []
