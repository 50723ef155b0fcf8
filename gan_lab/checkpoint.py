"""Reading gan_lab checkpoints outside training: the run's config and its generator."""

import pickle
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from gan_lab.errors import ConfigError
from gan_lab.models import GANNets, uses_channels_last


def load_weights(path: str | Path, key: str = "ckpt") -> dict:
    """A checkpoint or cached file, loaded with weights_only=True: tensors and plain values only.

    Unpickling arbitrary objects can run any code, so a file that needs it is refused, never executed.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"{key}={str(path)!r}: no such file. Pass a run's checkpoints/last.ckpt or best.ckpt."
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        reason = str(error).strip().splitlines()[0]
        raise ConfigError(
            f"{key}={str(path)!r} holds more than weights ({reason}). gan_lab loads only tensors and plain "
            "values (torch.load weights_only=True), since unpickling other objects can run code: "
            "use a checkpoint written by gan_lab, from a source you trust."
        ) from None
    except (RuntimeError, EOFError) as error:  # truncated or not a torch file at all
        raise ConfigError(
            f"{key}={str(path)!r} is not a readable checkpoint (damaged or truncated?): {error}"
        ) from None


def read_checkpoint(path: str | Path, key: str = "ckpt") -> tuple[dict, DictConfig]:
    """The checkpoint (tensors only: loaded with weights_only=True) and the resolved config of its run."""
    checkpoint = load_weights(path, key)
    if "gan_lab" not in checkpoint:
        raise ConfigError(f"{key}={str(path)!r} was not written by gan_lab (it holds no run config).")
    return checkpoint, OmegaConf.create(checkpoint["gan_lab"]["config"])


def resume_path(ckpt_path: str | None, run_dir: Path) -> Path | None:
    """The checkpoint to resume from: `last` is this run folder's last.ckpt, or None when there is none yet
    (so that a requeued job can always pass `ckpt_path=last`)."""
    if ckpt_path is None:
        return None
    if ckpt_path == "last":
        last = run_dir / "checkpoints" / "last.ckpt"
        return last if last.is_file() else None
    return Path(ckpt_path).expanduser()


def _shape_settings(config: DictConfig) -> dict:
    """The settings that decide the networks' shapes: the model's, and the dataset's image size, channels."""
    model = OmegaConf.to_container(config.model, resolve=True)
    dataset = {k: OmegaConf.select(config, f"dataset.{k}") for k in ("image_size", "channels")}
    return {f"model.{k}": v for k, v in model.items()} | {f"dataset.{k}": v for k, v in dataset.items()}


def check_fits(checkpoint: dict, model: torch.nn.Module, cfg: DictConfig, path: Path) -> None:
    """Raise ConfigError when the checkpoint's weights do not fit `model`, naming the settings that differ."""
    saved, built = checkpoint["state_dict"], model.state_dict()
    unfit = sorted(set(saved) ^ set(built)) or [k for k in built if saved[k].shape != built[k].shape]
    if not unfit:
        return
    there, here = _shape_settings(OmegaConf.create(checkpoint["gan_lab"]["config"])), _shape_settings(cfg)
    differ = [f"{k}={there.get(k)} there, {v} here" for k, v in here.items() if there.get(k) != v]
    first = unfit[0]
    shapes = f"{tuple(saved[first].shape) if first in saved else 'absent'} there, " + (
        f"{tuple(built[first].shape)} here" if first in built else "absent here"
    )
    raise ConfigError(
        f"ckpt_path={str(path)!r} was written by another model or image size: "
        f"{'; '.join(differ) or 'see the weights'} ({len(unfit)} weights differ, first {first}: {shapes}). "
        "Resume with that run's model and dataset settings, or start a new run without ckpt_path."
    )


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
    if uses_channels_last(cfg, data_shape):  # as the run sampled and scored: the same kernels, same numbers
        nets.generator.to(memory_format=torch.channels_last)
        nets.discriminator.to(memory_format=torch.channels_last)
    nets.generator.eval()
    nets.discriminator.eval()
    return nets


def pick_device(device: str) -> torch.device:
    """`auto` is the GPU when there is one, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
