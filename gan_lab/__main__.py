"""`python -m gan_lab [overrides]`: train (gan_lab/cli/train.py)."""

from gan_lab.cli.train import main

if __name__ == "__main__":
    main()
