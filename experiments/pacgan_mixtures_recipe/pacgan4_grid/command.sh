# From the repository root: the PacGAN4 row with the lab's packing (seeds 0-9, 10,000 steps), then the table
# with PacGAN's rows (Table 1, 400,000 steps) and the lab's own unpacked GAN at 10,000 steps beside.
experiments/pacgan_mixtures_recipe/pacgan_row.sh grid 4 runs/p4_grid 10000
python -m gan_lab.report runs/p4_grid --out experiments/pacgan_mixtures_recipe/pacgan4_grid \
  --metrics modes_captured high_quality_pct kl_modes \
  --reference "PacGAN4 row (10 trials, 400k steps)" modes_captured=24.8±0.2 high_quality_pct=93.6±0.6 kl_modes=0.04±0.01 \
  --reference "PacGAN GAN row (10 trials, 400k steps)" modes_captured=17.3±0.8 high_quality_pct=94.8±0.7 kl_modes=0.70±0.07 \
  --reference "gan_lab GAN row at 10k steps (1 trial, experiments/pacgan_grid)" modes_captured=16 high_quality_pct=12.9 kl_modes=0.95
