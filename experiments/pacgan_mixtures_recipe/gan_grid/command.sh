# From the repository root: the unpacked GAN row (experiment=pacgan_grid as it ships, seeds 0-9, 10,000 steps),
# two processes side by side (seeds 0-4 and 5-9), then the table with PacGAN's rows and the lab's PacGAN4 row.
experiments/pacgan_mixtures_recipe/pacgan_row.sh grid 1 runs/gan_grid/a 10000 'seed=range(0,5)' &
experiments/pacgan_mixtures_recipe/pacgan_row.sh grid 1 runs/gan_grid/b 10000 'seed=range(5,10)'; wait
python -m gan_lab.report runs/gan_grid/a runs/gan_grid/b --out experiments/pacgan_mixtures_recipe/gan_grid \
  --metrics modes_captured high_quality_pct kl_modes \
  --reference "PacGAN GAN row (10 trials, 400k steps)" modes_captured=17.3±0.8 high_quality_pct=94.8±0.7 kl_modes=0.70±0.07 \
  --reference "gan_lab PacGAN4 row at 10k steps (10 trials, pacgan4_grid)" modes_captured=14.5±1.3 high_quality_pct=1.7±0.2 kl_modes=0.84±0.11
