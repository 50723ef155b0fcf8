"""`python -m gan_lab [overrides]` / `gan-lab [overrides]`: train one run, or a sweep with --multirun."""

import sys

import hydra
from hydra.errors import InstantiationException
from omegaconf import DictConfig
from omegaconf.errors import MissingMandatoryValue

from gan_lab.config import config_dir
from gan_lab.errors import GanLabError


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
def main(cfg: DictConfig) -> None:
    from gan_lab.train import run  # imported here so that --help and --cfg stay fast

    try:
        run(cfg)
    except InstantiationException as error:  # a constructor's check, wrapped by hydra.utils.instantiate
        if not isinstance(error.__cause__, GanLabError):
            raise
        sys.exit(f"gan_lab: error: {error.__cause__}")
    except GanLabError as error:
        sys.exit(f"gan_lab: error: {error}")
    except MissingMandatoryValue as error:
        sys.exit(f"gan_lab: error: {error.full_key} has no value: set it, e.g. {error.full_key}=...")


if __name__ == "__main__":
    main()
