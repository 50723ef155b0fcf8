# From the repository root: the recipe's and the protocol DCGAN's trials (seeds 0-9, 3,000 steps, D = ¼), then
# one table of both with PacGAN's Table 3 rows (500,000 steps) and the goal beside.
experiments/pacgan_stacked_recipe/trials.sh quarter recipe runs/s2/trials_quarter 3000 ../shared/data/mnist
experiments/pacgan_stacked_recipe/trials.sh quarter dcgan runs/s2/dcgan_quarter 3000 ../shared/data/mnist
python -m gan_lab.report runs/s2/trials_quarter runs/s2/dcgan_quarter --out experiments/pacgan_stacked_recipe/trials_quarter \
  --metrics modes_captured kl_stacked \
  --reference "PacGAN DCGAN row (50 trials, 500,000 steps)" modes_captured=30.6±20.7 kl_stacked=5.99 \
  --reference "PacGAN PacDCGAN4 row (50 trials, 500,000 steps)" modes_captured=667.4±29.0 kl_stacked=1.81 \
  --reference "issue goal" modes_captured=900
