# From the repository root: the unpacked GAN row (experiment=pacgan_ring as it ships, seeds 0-9, 10,000 steps),
# two processes side by side (seeds 0-4 and 5-9), then the table with PacGAN's rows and the lab's PacGAN4 row.
experiments/pacgan_mixtures_recipe/pacgan_row.sh ring 1 runs/gan_ring/a 10000 'seed=range(0,5)' &
experiments/pacgan_mixtures_recipe/pacgan_row.sh ring 1 runs/gan_ring/b 10000 'seed=range(5,10)'; wait
python -m gan_lab.report runs/gan_ring/a runs/gan_ring/b --out experiments/pacgan_mixtures_recipe/gan_ring \
  --metrics modes_captured high_quality_pct kl_modes \
  --reference "PacGAN GAN row (10 trials, 400k steps)" modes_captured=6.3±0.5 high_quality_pct=98.2±0.2 kl_modes=0.45±0.09 \
  --reference "gan_lab PacGAN4 row at 10k steps (10 trials, pacgan4_ring)" modes_captured=7.8±0.1 high_quality_pct=67.7±3.9 kl_modes=0.20±0.04
