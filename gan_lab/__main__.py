"""`python -m gan_lab [overrides]` / `gan-lab [overrides]`: train one run, or a sweep with --multirun."""

import hydra
from omegaconf import DictConfig

from gan_lab.config import config_dir
from gan_lab.sweep import job_outcome


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
def main(cfg: DictConfig) -> None:
    from gan_lab.train import run  # imported here so that --help and --cfg stay fast

    with job_outcome("gan_lab"):
        run(cfg)


if __name__ == "__main__":
    main()
