"""`python -m gan_lab.cli.augmentation_study --multirun experiment=augment_mnist`: the GAN data-augmentation
study, one job per cell (gan_lab/studies/augmentation.py)."""

import hydra
from omegaconf import DictConfig

import gan_lab.config.schema  # noqa: F401  registers the schema conf/train.yaml's defaults name
from gan_lab.paths import config_dir
from gan_lab.studies.augmentation import run_cell
from gan_lab.training.sweep import job_outcome


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
def main(cfg: DictConfig) -> None:
    with job_outcome("gan_lab.cli.augmentation_study"):
        run_cell(cfg)


if __name__ == "__main__":
    main()
