"""The types of conf/train.yaml, and the check of each `_target_` node against what its target accepts.

The schema below is Hydra's "schema" pattern: registered in the ConfigStore when this module is imported and
listed first in train.yaml's defaults, so that every YAML file, experiment and override merged on top of it
is checked at composition, naming the key. It holds types only, no values: conf/train.yaml keeps the values
and the comments users read. The group nodes built from a `_target_` (dataset, model, ...) are open here;
`check_targets` compares them with the signature of the class or function they name instead.
"""

import dataclasses
import difflib
import inspect
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra._internal.utils import _locate
from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from gan_lab.errors import ConfigError

SCHEMA = "train_schema"  # the name conf/train.yaml's defaults list uses


@dataclass
class Train:
    steps: int
    on_divergence: str
    rollback_lr_factor: float
    max_rollbacks: int
    channels_last: bool
    compile: bool


@dataclass
class Samples:
    every: int | None
    num: int


@dataclass
class Checkpoint:
    every: int | None


@dataclass
class Eval:
    every: int | None
    num_samples: int
    batch_size: int
    seed: int
    best: str | None
    objective: str | None


@dataclass
class Metrics:
    names: list[str]
    features: list[str]
    classifier: str | None
    attribute_classifier: str | None
    encoder: str | None
    inception_weights: str | None
    inception_download: bool
    real_split: str
    pr_k: int
    main: str | None
    num_samples: int


@dataclass
class Paths:
    output_dir: str


# No defaults: a field is "???" until conf/train.yaml or a group file sets it; values live in the YAML only.
@dataclass
class TrainConfig:
    experiment_name: str
    seed: int
    data_dir: str
    ckpt_path: str | None
    train: Train
    samples: Samples
    checkpoint: Checkpoint
    eval: Eval
    metrics: Metrics
    paths: Paths
    # Built from their `_target_`: checked against its signature by check_targets, not here.
    dataset: Any
    system: Any
    trainer: Any
    logger: Any
    study: Any  # augmentation experiments only


ConfigStore.instance().store(name=SCHEMA, node=TrainConfig)


def unknown_key(key: str, valid: list[str], owner: str) -> ConfigError:
    """`key` (dotted, e.g. dataset.batchsize) is not one of `valid`, the names `owner` accepts."""
    name = key.rsplit(".", 1)[-1]
    close = difflib.get_close_matches(name, valid, n=3)
    if close:
        hint = f"did you mean {' or '.join(close)}?"
    else:
        hint = f"it takes {', '.join(sorted(valid))}." if valid else "it takes no settings."
    return ConfigError(f"{key} is not a setting of {owner}: {hint}")


def check_schema(cfg: DictConfig) -> None:
    """Check `cfg` against TrainConfig again: composition already did, but `+key=value` overrides and code
    that edits a config under open_dict get past it."""
    # As plain dicts: OmegaConf lets keys added to a typed node through when merging it as a typed node.
    user = OmegaConf.to_container(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]))
    try:
        OmegaConf.merge(OmegaConf.structured(TrainConfig), user)
    except ConfigKeyError as error:
        section = error.full_key.rpartition(".")[0]
        schema = (
            {f.name: f.type for f in dataclasses.fields(TrainConfig)}.get(section) if section else TrainConfig
        )
        if not dataclasses.is_dataclass(schema):
            raise ConfigError(f"{error.full_key}: {str(error.msg).splitlines()[0]}.") from None
        valid = [f.name for f in dataclasses.fields(schema)]
        raise unknown_key(error.full_key, valid, section or "the config") from None
    except OmegaConfBaseException as error:
        raise ConfigError(f"{error.full_key}: {str(error.msg).splitlines()[0]}.") from None


SIMPLE = (int, float, bool, str, Path)


def _omegaconf_type(parameter: inspect.Parameter) -> Any:
    """The parameter's annotation where OmegaConf can check it (simple types, optional or not), else Any."""
    annotation = parameter.annotation
    if annotation in SIMPLE:
        return annotation | None if parameter.default is None else annotation
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 2:
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1 and inner[0] in SIMPLE:
            return inner[0] | None
    return Any


def _signature(function: Any) -> inspect.Signature:
    try:
        return inspect.signature(function, eval_str=True)
    except (NameError, TypeError):  # an annotation naming what only exists for type checkers
        return inspect.signature(function)


def accepted(target: Any) -> dict[str, inspect.Parameter] | None:
    """The keyword arguments `target` accepts, or None when it takes **kwargs that go where we cannot see.

    gan_lab's own classes pass their **kwargs on to their base class: follow them up the MRO.
    """
    if not (inspect.isclass(target) and target.__module__.startswith("gan_lab.")):
        parameters = _signature(target).parameters
        if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            return None
        return {n: p for n, p in parameters.items() if p.kind is not p.VAR_POSITIONAL}
    found: dict[str, inspect.Parameter] = {}
    for klass in target.__mro__:
        init = vars(klass).get("__init__")
        if init is None:
            continue
        if klass is object:  # object.__init__ takes nothing more
            return found
        parameters = list(_signature(init).parameters.values())[1:]  # without self
        for p in parameters:
            if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                found.setdefault(p.name, p)  # the subclass's annotation wins
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            return found
        if not klass.__module__.startswith("gan_lab."):  # its **kwargs may go anywhere
            return None
    return found


def check_target(node: DictConfig, key: str) -> None:
    """Check the keys and simple value types of `node` (at `key`) against its `_target_`'s signature."""
    values = OmegaConf.to_container(node, resolve=True)  # interpolations: check what the target would get
    name = values["_target_"]
    try:
        target = _locate(name)  # what hydra.utils.instantiate uses; get_object would also log the error
    except Exception as error:  # ImportError, or whatever importing the module raised
        raise ConfigError(
            f"{key}._target_={name!r} cannot be imported: {' '.join(str(error).split())}"
        ) from None
    parameters = accepted(target)
    if parameters is None:
        return
    given = {k: v for k, v in values.items() if not k.startswith("_")}
    for k in given:
        if k not in parameters:
            raise unknown_key(f"{key}.{k}", list(parameters), name)
    fields = [(k, _omegaconf_type(parameters[k]), dataclasses.field(default=MISSING)) for k in given]
    try:  # OmegaConf does the type checks, as for TrainConfig
        OmegaConf.merge(OmegaConf.structured(dataclasses.make_dataclass("Parameters", fields)), given)
    except OmegaConfBaseException as error:
        k = str(error.key)
        if k not in given:
            raise
        expected = inspect.formatannotation(parameters[k].annotation)
        raise ConfigError(f"{key}.{k}={given[k]!r} is not of type {expected}, as {name} takes it.") from None


def check_targets(node: DictConfig | ListConfig, key: str = "") -> None:
    """check_target on every node with a `_target_` inside `node` (the trainer's strategy too)."""
    for name in list(node) if isinstance(node, DictConfig) else range(len(node)):
        if not key and name == "hydra":  # Hydra's own settings, when still there
            continue
        if OmegaConf.is_missing(node, name) or OmegaConf.is_interpolation(node, name):
            continue
        child, path = node[name], f"{key}.{name}" if key else str(name)
        if isinstance(child, DictConfig) and "_target_" in child:
            check_target(child, path)
        if isinstance(child, DictConfig | ListConfig):
            check_targets(child, path)
