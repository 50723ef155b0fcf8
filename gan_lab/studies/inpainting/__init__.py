"""The parts of `gan_lab.inpaint` that need no GAN: masks, the baseline fills, the scores over the hole."""
