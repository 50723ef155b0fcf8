"""`python -m gan_lab [overrides]` / `gan-lab [overrides]`: train one run, or a sweep with --multirun."""

import hydra
from omegaconf import DictConfig

import gan_lab.config.schema  # noqa: F401  registers the schema conf/train.yaml's defaults name
from gan_lab.paths import config_dir
from gan_lab.training.sweep import job_outcome


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
def main(cfg: DictConfig) -> None:
    from gan_lab.training.run import run  # imported here so that --help and --cfg stay fast

    with job_outcome("gan_lab"):
        run(cfg)


if __name__ == "__main__":
    main()
