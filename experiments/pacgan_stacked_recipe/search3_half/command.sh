# From the repository root: the third search's 3,000 and 6,000-step cells at D = half (R1 gamma 1 and 0.1, seed 101), run
# beside the other size's, one torch thread each; the 12,000-step cells are still to run
# (search3.sh SIZE OUT_DIR without the train.steps override runs all six cells).
experiments/pacgan_stacked_recipe/search3.sh half runs/st3 ../shared/data/mnist train.steps=3000,6000
python -m gan_lab.report runs/st3/half --out experiments/pacgan_stacked_recipe/search3_half --metrics modes_captured kl_stacked
