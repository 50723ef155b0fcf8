# From the repository root: the trials, then the table with PacGAN's rows (Table 1, 400,000 steps) beside.
experiments/pacgan_mixtures_recipe/trials.sh grid /tmp/s1/trials_grid
python -m gan_lab.report /tmp/s1/trials_grid --out experiments/pacgan_mixtures_recipe/trials_grid \
  --metrics modes_captured high_quality_pct kl_modes \
  --reference "PacGAN GAN row (10 trials, 400k steps)" modes_captured=17.3±0.8 high_quality_pct=94.8±0.7 kl_modes=0.70±0.07 \
  --reference "PacGAN4 row (10 trials, 400k steps)" modes_captured=24.8±0.2 high_quality_pct=93.6±0.6 kl_modes=0.04±0.01 \
  --reference "gan_lab GAN row at 10k steps (1 trial, experiments/pacgan_grid)" modes_captured=16 high_quality_pct=12.9 kl_modes=0.95 \
  --reference "issue goal (every trial)" modes_captured=25 high_quality_pct=95 kl_modes=0.03
