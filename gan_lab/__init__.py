"""gan_lab: a config-driven lab for training and studying GANs."""

__version__ = "0.1.0"
