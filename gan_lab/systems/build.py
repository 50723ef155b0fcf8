"""A system from a run config: `cfg.system` names the LightningModule and nests its networks, loss, penalty,
augmentation, EMA and one optimizer per network."""

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig

from gan_lab.errors import GanLabError
from gan_lab.nets import prepare
from gan_lab.systems.base import System


def uses_channels_last(cfg: DictConfig, data_shape: tuple[int, ...]) -> bool:
    """Whether a run's networks are in NHWC layout: `train.channels_last` holds for image data (C, H, W)
    only, as 2D points have no layout to change."""
    return bool(cfg.train.get("channels_last", False)) and len(data_shape) == 3


def build_system(cfg: DictConfig, data_shape: tuple[int, ...], num_classes: int | None) -> System:
    """`cfg.system` for data of `data_shape` with `num_classes` labels, its networks laid out and compiled as
    `train.channels_last` and `train.compile` say."""
    channels_last = uses_channels_last(cfg, data_shape)
    try:
        system = instantiate(
            cfg.system,
            data_shape=tuple(data_shape),
            num_classes=num_classes,
            seed=cfg.seed,
            channels_last=channels_last,
            _convert_="partial",  # optimizers: a dict of partials, not a DictConfig
        )
    except InstantiationException as error:  # a constructor's own check: its one line, not Hydra's wrapping
        if isinstance(error.__cause__, GanLabError):
            raise error.__cause__ from None
        raise
    networks = [m for m in system.children() if any(True for _ in m.parameters())]  # EMA copies too
    prepare(networks, channels_last, bool(cfg.train.get("compile", False)))
    return system
