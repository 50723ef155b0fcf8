"""`python -m gan_lab [overrides]` / `gan-lab [overrides]`: train one run, or a sweep with --multirun."""

import hydra
from omegaconf import DictConfig

import gan_lab.config.schema  # noqa: F401  registers the schema conf/train.yaml's defaults name
from gan_lab.paths import config_dir
from gan_lab.training.sweep import job_outcome, objective_value


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Train; return eval.objective's last-step value, which an optimizing sweeper (optuna) reads."""
    from gan_lab.training.run import run  # imported here so that --help and --cfg stay fast

    metrics = None
    with job_outcome("gan_lab"):
        metrics = run(cfg)
    return objective_value(cfg.eval.objective, metrics)


if __name__ == "__main__":
    main()
