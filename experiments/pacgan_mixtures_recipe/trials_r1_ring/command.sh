# From the repository root: the recipe + R1 (gamma 1, picked on seed 100 by search2_ring/) on seeds 0-9, then
# the table with PacGAN's rows (Table 1, 400,000 steps) and the recipe without R1 (trials_ring/) beside.
experiments/pacgan_mixtures_recipe/trials.sh ring runs/trials_r1_ring penalty=r1 system.penalty.weight=1.0
# As run here: the sweep above was stopped (SIGTERM) as it started seed 8, to give seeds 8 and 9 a process
# each on the cores freed by the grid's trials; their unfinished job was set aside. Same settings, seed apart:
#   experiments/pacgan_mixtures_recipe/trials.sh ring runs/trials_r1_ring_8 penalty=r1 system.penalty.weight=1.0 seed=8
#   experiments/pacgan_mixtures_recipe/trials.sh ring runs/trials_r1_ring_9 penalty=r1 system.penalty.weight=1.0 seed=9
# The report groups the jobs of all three folders by their overrides but `seed`: one row of 10 trials.
python -m gan_lab.report runs/trials_r1_ring runs/trials_r1_ring_8 runs/trials_r1_ring_9 \
  --out experiments/pacgan_mixtures_recipe/trials_r1_ring --metrics modes_captured high_quality_pct kl_modes \
  --reference "PacGAN GAN row (10 trials, 400k steps)" modes_captured=6.3±0.5 high_quality_pct=98.2±0.2 kl_modes=0.45±0.09 \
  --reference "PacGAN2 row (10 trials, 400k steps)" modes_captured=7.9±0.1 high_quality_pct=95.6±2.0 kl_modes=0.07±0.03 \
  --reference "lab recipe without R1 (10 trials, 10k steps, trials_ring)" modes_captured=8±0 high_quality_pct=83.2±0.7 kl_modes=0.024±0.004 \
  --reference "issue goal (every trial)" modes_captured=8 high_quality_pct=97 kl_modes=0.03
