"""`python -m gan_lab.translate ckpt=... image=PATH|dataset direction=a2b|b2a out=...`: images translated by
a translation run (gan_lab/cli/translate.py)."""

from gan_lab.cli.translate import main

if __name__ == "__main__":
    main()
