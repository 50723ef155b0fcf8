"""`python -m gan_lab [overrides]` / `gan-lab [overrides]`: train one run, or a sweep with --multirun."""

import re
import sys

import hydra
from omegaconf import DictConfig

import gan_lab.config.schema  # noqa: F401  registers the schema conf/train.yaml's defaults name
from gan_lab.paths import config_dir
from gan_lab.training.sweep import job_outcome, objective_value


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
def train(cfg: DictConfig) -> float | None:
    """Train; return eval.objective's last-step value, which an optimizing sweeper (optuna) reads."""
    from gan_lab.training.run import run  # imported here so that --help and --cfg stay fast

    metrics = None
    with job_outcome("gan_lab"):
        metrics = run(cfg)
    return objective_value(cfg.eval.objective, metrics)


def null_group_error(args: list[str]) -> str | None:
    """The one-line error for `GROUP=null` on a config group (ema=null, penalty=null, ...), which Hydra
    answers with a traceback; None when no argument does that. The groups name their off switch `none`."""
    for arg in args:
        match = re.fullmatch(r"([\w/]+)=null", arg)
        if match and (config_dir() / match.group(1)).is_dir():
            group = match.group(1)
            off = "none" if (config_dir() / group / "none.yaml").is_file() else None
            fix = f"write {group}={off} (or ~{group})" if off else f"write ~{group} to drop it"
            return (
                f"gan_lab: error: {arg}: a config group takes the name of one of its files in "
                f"conf/{group}/; {fix}."
            )
    return None


def main() -> None:
    """The entry point: refuse what Hydra would answer with a traceback, then train."""
    error = null_group_error(sys.argv[1:])
    if error:
        sys.exit(error)
    train()


if __name__ == "__main__":
    main()
