# From the repository root: the third search on the grid (R1's gamma 1 / 0.1 x 10,000 / 20,000 / 40,000 steps,
# seed 101), run beside the ring's (search3_ring/command.sh), one torch thread each, then its table.
experiments/pacgan_mixtures_recipe/search3.sh grid runs/s3
python -m gan_lab.report runs/s3/grid --out experiments/pacgan_mixtures_recipe/search3_grid \
  --metrics modes_captured high_quality_pct kl_modes \
  --reference "PacGAN4 row (10 trials, 400k steps)" modes_captured=24.8±0.2 high_quality_pct=93.6±0.6 kl_modes=0.04±0.01 \
  --reference "gan_lab recipe + R1 gamma 1 at 10k steps (10 trials, trials_r1_grid)" modes_captured=25±0 high_quality_pct=73.7±2.5 kl_modes=0.042±0.012
