# From the repository root: the recipe + R1 (gamma 1; the second search's best cell, search2_grid/) on seeds
# 0-9, then the table with PacGAN's rows (Table 1, 400,000 steps) and the recipe without R1 (trials_grid/) beside.
experiments/pacgan_mixtures_recipe/trials.sh grid runs/trials_r1_grid penalty=r1 system.penalty.weight=1.0
python -m gan_lab.report runs/trials_r1_grid --out experiments/pacgan_mixtures_recipe/trials_r1_grid \
  --metrics modes_captured high_quality_pct kl_modes \
  --reference "PacGAN GAN row (10 trials, 400k steps)" modes_captured=17.3±0.8 high_quality_pct=94.8±0.7 kl_modes=0.70±0.07 \
  --reference "PacGAN4 row (10 trials, 400k steps)" modes_captured=24.8±0.2 high_quality_pct=93.6±0.6 kl_modes=0.04±0.01 \
  --reference "lab recipe without R1 (10 trials, 10k steps, trials_grid)" modes_captured=20.5±0.8 high_quality_pct=74.7±1.0 kl_modes=0.81±0.09 \
  --reference "issue goal (every trial)" modes_captured=25 high_quality_pct=95 kl_modes=0.03
