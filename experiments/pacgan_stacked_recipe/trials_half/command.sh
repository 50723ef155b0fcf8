# From the repository root: the recipe's and the protocol DCGAN's trials (seeds 0-9, 3,000 steps, D = ½), then
# one table of both with PacGAN's Table 3 rows (500,000 steps) and the goal beside.
experiments/pacgan_stacked_recipe/trials.sh half recipe runs/s2/trials_half 3000 ../shared/data/mnist
experiments/pacgan_stacked_recipe/trials.sh half dcgan runs/s2/dcgan_half 3000 ../shared/data/mnist
python -m gan_lab.report runs/s2/trials_half runs/s2/dcgan_half --out experiments/pacgan_stacked_recipe/trials_half \
  --metrics modes_captured kl_stacked \
  --reference "PacGAN DCGAN row (50 trials, 500,000 steps)" modes_captured=628.0±140.9 kl_stacked=2.58 \
  --reference "PacGAN PacDCGAN3 row (50 trials, 500,000 steps)" modes_captured=866.6±12.1 kl_stacked=0.90 \
  --reference "issue goal" modes_captured=950 kl_stacked=0.3
