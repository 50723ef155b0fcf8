"""Reading checkpoints, the one place: safely (weights only), with one-line errors for files that are not
gan_lab checkpoints, and into a system rebuilt from the run's own config."""

import pickle
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from gan_lab.errors import ConfigError
from gan_lab.systems.base import FORMAT, System
from gan_lab.systems.build import build_system


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
        if "weights only load failed" in reason.lower() and "unsupported global" in str(error).lower():
            raise ConfigError(
                f"{key}={str(path)!r} holds more than weights ({reason}). gan_lab loads only tensors and "
                "plain values (torch.load weights_only=True), since unpickling other objects can run code: "
                "use a checkpoint written by gan_lab, from a source you trust."
            ) from None
        raise _unreadable(path, key, "") from None  # torch's text here is about weights_only, not the file
    except (RuntimeError, EOFError, OSError, IndexError, ValueError, KeyError) as error:
        # A truncated zip (OSError: Invalid argument), a text file (IndexError), ...: never a traceback.
        raise _unreadable(path, key, " ".join(str(error).split()) or type(error).__name__) from None


def _unreadable(path: Path, key: str, reason: str) -> ConfigError:
    said = f": {reason[:100]}" if reason else ""
    return ConfigError(
        f"{key}={str(path)!r} is not a readable checkpoint (truncated, damaged, or another kind of file"
        f"{said}). Pass a run's checkpoints/last.ckpt or best.ckpt."
    )


def read_checkpoint(path: str | Path, key: str = "ckpt") -> tuple[dict, DictConfig]:
    """The checkpoint (tensors only: loaded with weights_only=True) and the resolved config of its run."""
    checkpoint = load_weights(path, key)
    if not isinstance(checkpoint, dict) or "gan_lab" not in checkpoint:
        raise ConfigError(f"{key}={str(path)!r} was not written by gan_lab (it holds no run config).")
    if checkpoint.get("system", {}).get("format") != FORMAT:
        raise ConfigError(
            f"{key}={str(path)!r} was written by an older gan_lab (0.1, before systems), whose checkpoints "
            "this version cannot read: start a new run, or read it with gan_lab 0.1."
        )
    return checkpoint, OmegaConf.create(checkpoint["gan_lab"]["config"])


def steps_of(checkpoint: dict) -> int:
    """The step (generator updates) a checkpoint was written at."""
    return checkpoint["system"]["steps_done"]


def _shape_settings(config: DictConfig) -> dict:
    """The settings that decide the networks' shapes: the system's, and the dataset's image size, channels."""
    system = OmegaConf.to_container(config.system, resolve=True)
    flat = {}
    for k, v in system.items():
        for sub, value in v.items() if isinstance(v, dict) else [(None, v)]:
            flat[f"system.{k}" + (f".{sub}" if sub else "")] = value
    dataset = {k: OmegaConf.select(config, f"dataset.{k}") for k in ("image_size", "channels")}
    return flat | {f"dataset.{k}": v for k, v in dataset.items()}


def check_fits(checkpoint: dict, system: System, cfg: DictConfig, path: Path) -> None:
    """Raise ConfigError when the checkpoint's weights do not fit `system`, naming the settings that
    differ."""
    saved, built = checkpoint["state_dict"], system.state_dict()
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
        f"{'; '.join(differ[:4]) or 'see the weights'} ({len(unfit)} weights differ, first {first}: "
        f"{shapes}). Resume with that run's system and dataset settings, or start a new run without "
        "ckpt_path."
    )


def load_system(
    checkpoint: dict, run: DictConfig, data_shape: tuple[int, ...], trained: bool = True
) -> System:
    """The run's system with the checkpoint's weights, in eval mode.

    `trained=False` gives the networks as their run initialised them (same seed), before any update.
    """
    torch.manual_seed(run.seed)  # as training seeds before it builds the system
    system = build_system(run, data_shape, run.system.get("num_classes"))
    if trained:
        system.load_state_dict(checkpoint["state_dict"])
    return system.eval()


def pick_device(device: str) -> torch.device:
    """`auto` is the GPU when there is one, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
