# From the repository root: the trials, then the table with PacGAN's rows (Table 1, 400,000 steps) beside.
experiments/pacgan_mixtures_recipe/trials.sh ring /tmp/s1/trials_ring
python -m gan_lab.report /tmp/s1/trials_ring --out experiments/pacgan_mixtures_recipe/trials_ring \
  --metrics modes_captured high_quality_pct kl_modes \
  --reference "PacGAN GAN row (10 trials, 400k steps)" modes_captured=6.3±0.5 high_quality_pct=98.2±0.2 kl_modes=0.45±0.09 \
  --reference "PacGAN2 row (10 trials, 400k steps)" modes_captured=7.9±0.1 high_quality_pct=95.6±2.0 kl_modes=0.07±0.03 \
  --reference "gan_lab GAN row at 10k steps (1 trial, experiments/pacgan_ring)" modes_captured=7 high_quality_pct=81.4 kl_modes=0.67 \
  --reference "issue goal (every trial)" modes_captured=8 high_quality_pct=97 kl_modes=0.03
