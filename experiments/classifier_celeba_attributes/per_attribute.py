"""The per-attribute table of README.md: an attribute classifier's accuracy on its run's test split, beside
the majority class of the training split.

Usage: python experiments/classifier_celeba_attributes/per_attribute.py [CKPT [ATTRIBUTE ...]]
(default: the bundled celeba_attributes and the attributes of the README)."""

import sys

import torch
from hydra.utils import instantiate

from gan_lab.metrics.features import classifier_path
from gan_lab.systems import load_system, read_checkpoint

SHOWN = ["Smiling", "Male", "Mouth_Slightly_Open", "Blond_Hair", "Young", "Eyeglasses"]

path = classifier_path(sys.argv[1] if len(sys.argv) > 1 else "celeba_attributes")
checkpoint, run = read_checkpoint(path)
data = instantiate(run.dataset)
test, train = data.load("test"), data.load("train")
images = torch.stack([test[i][0] for i in range(len(test))])
with torch.inference_mode():
    read = load_system(checkpoint, run, data.data_shape).eval().net(images) > 0
truth, majority = test.targets > 0.5, train.targets.mean(0) > 0.5
accuracy, baseline = (read == truth).float().mean(0), (majority == truth).float().mean(0)
names = data.attribute_names()
print(f"{len(test)} test images | per answer: {accuracy.mean():.1%} (majority {baseline.mean():.1%})")
for name in sys.argv[2:] or SHOWN:
    i = names.index(name)
    print(f"{name}: {accuracy[i]:.1%} (majority {baseline[i]:.1%})")
