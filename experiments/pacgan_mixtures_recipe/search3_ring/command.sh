# From the repository root: the third search on the ring (R1's gamma 1 / 0.1 x 10,000 / 20,000 / 40,000 steps,
# seed 101), run beside the grid's (search3_grid/command.sh), one torch thread each, then its table.
experiments/pacgan_mixtures_recipe/search3.sh ring runs/s3
python -m gan_lab.report runs/s3/ring --out experiments/pacgan_mixtures_recipe/search3_ring \
  --metrics modes_captured high_quality_pct kl_modes \
  --reference "PacGAN2 row (10 trials, 400k steps)" modes_captured=7.9±0.1 high_quality_pct=95.6±2.0 kl_modes=0.07±0.03 \
  --reference "gan_lab recipe + R1 gamma 1 at 10k steps (10 trials, trials_r1_ring)" modes_captured=8±0 high_quality_pct=91.1±0.4 kl_modes=0.0027±0.0003
