"""Studies built on trained systems: GAN data augmentation, semantic inpainting."""
