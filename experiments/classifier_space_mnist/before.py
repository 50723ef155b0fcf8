"""The disturbance study in the MNIST classifier space as it was before the fix: the raw penultimate layer
(after its ReLU, not length-normalised). Same data, sizes and seed as the `gan_lab.cli.disturbances` run
of the README, so the two tables differ in the feature space only.

    python experiments/classifier_space_mnist/before.py --out experiments/classifier_space_mnist/before
"""

import argparse
from pathlib import Path

from torch import Tensor

from gan_lab.data import FashionMNISTDataModule, MNISTDataModule
from gan_lab.metrics.features import load_classifier
from gan_lab.studies.disturbances import monotone, real_images, run_study, some_images, write_study

parser = argparse.ArgumentParser()
parser.add_argument("--out", type=Path, required=True)
parser.add_argument("--n", type=int, default=4000)
args = parser.parse_args()

classifier = load_classifier("mnist")


def raw_features(images: Tensor) -> Tensor:
    """ClassifierExtractor's features before the fix: the penultimate layer as it is."""
    return classifier.net.features(classifier.prepare(images))


data = dict(image_size=28, channels=1, download=False, batch_size=500, num_workers=0, seed=0)
mnist = MNISTDataModule(root="../shared/data/mnist", **data)
fashion = FashionMNISTDataModule(root="../shared/data/fashion-mnist", **data)
reference, images, where = real_images(mnist, args.n, args.n, seed=0)
other = some_images(fashion, args.n, seed=1)
rows = run_study(raw_features, reference, images, other, seed=0, log=print)
write_study(rows, args.out, f"mnist in the raw classifier space (before the fix): {where}")
for check, (fid_ok, kid_ok) in monotone(rows).items():
    print(f"  {check:<18} monotone FID {'yes' if fid_ok else 'NO'}, KID {'yes' if kid_ok else 'NO'}")
