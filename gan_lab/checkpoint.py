"""Reading gan_lab checkpoints outside training: the run's config and its generator."""

from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from gan_lab.errors import ConfigError
from gan_lab.models import GANNets


def read_checkpoint(path: str | Path) -> tuple[dict, DictConfig]:
    """The checkpoint (tensors only: loaded with weights_only=True) and the resolved config of its run."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"ckpt={str(path)!r}: no such file. Pass a run's checkpoints/last.ckpt or best.ckpt."
        )
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if "gan_lab" not in checkpoint:
        raise ConfigError(f"ckpt={str(path)!r} was not written by gan_lab (it holds no run config).")
    return checkpoint, OmegaConf.create(checkpoint["gan_lab"]["config"])


def load_nets(
    checkpoint: dict, cfg: DictConfig, data_shape: tuple[int, ...], trained: bool = True
) -> GANNets:
    """The generator and discriminator of a GAN checkpoint, in eval mode.

    `trained=False` gives the networks as their run initialised them (same seed), before any update.
    """
    torch.manual_seed(cfg.seed)  # as train.run seeds before it builds the model
    nets = instantiate(cfg.model)(data_shape=data_shape)
    if not isinstance(nets, GANNets):
        raise ConfigError(f"this checkpoint is a {cfg.model._target_} run, not a GAN: it has no generator.")
    for name in ("generator", "discriminator") if trained else ():
        prefix = f"{name}."
        state = checkpoint["state_dict"]
        getattr(nets, name).load_state_dict(
            {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}
        )
    nets.generator.eval()
    nets.discriminator.eval()
    return nets


def pick_device(device: str) -> torch.device:
    """`auto` is the GPU when there is one, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
