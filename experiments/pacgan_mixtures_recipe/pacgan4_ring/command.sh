# From the repository root: PacGAN4 with the lab's packing on the ring (seeds 0-9, 10,000 steps; PacGAN reports
# PacGAN2 on the ring, not PacGAN4), then the table with PacGAN's ring rows (Table 1, 400,000 steps) and the
# lab's own unpacked GAN at 10,000 steps beside.
experiments/pacgan_mixtures_recipe/pacgan_row.sh ring 4 runs/p4_ring 10000
python -m gan_lab.report runs/p4_ring --out experiments/pacgan_mixtures_recipe/pacgan4_ring \
  --metrics modes_captured high_quality_pct kl_modes \
  --reference "PacGAN2 row (10 trials, 400k steps)" modes_captured=7.9±0.1 high_quality_pct=95.6±2.0 kl_modes=0.07±0.03 \
  --reference "PacGAN GAN row (10 trials, 400k steps)" modes_captured=6.3±0.5 high_quality_pct=98.2±0.2 kl_modes=0.45±0.09 \
  --reference "gan_lab GAN row at 10k steps (1 trial, experiments/pacgan_ring)" modes_captured=7 high_quality_pct=81.4 kl_modes=0.67
