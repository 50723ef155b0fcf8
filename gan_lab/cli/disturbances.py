"""`python -m gan_lab.cli.disturbances --dataset mnist --root DIR [--other fashion_mnist --other-root DIR]
--out DIR`: is a feature space fit for FID and KID? Disturbs real images at rising levels (TTUR's test) and
writes results.csv, results.md and curves.png, saying for each disturbance whether FID and KID rise at every
level (gan_lab/studies/disturbances.py)."""

import argparse
import time
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

import gan_lab.config.schema  # noqa: F401  registers the schema conf/train.yaml's defaults name
from gan_lab.errors import ConfigError, reported_as_one_line
from gan_lab.metrics.features import Extractor, load_extractors
from gan_lab.paths import config_dir
from gan_lab.studies.disturbances import (
    CHECKS,
    LEVELS,
    monotone,
    real_images,
    run_study,
    some_images,
    write_study,
)

PROGRAM = "gan_lab.cli.disturbances"


def datamodule(name: str, root: str | None, seed: int):
    """The dataset `name` as conf/dataset/NAME.yaml builds it (`root` overriding its folder), with its
    metric set's config: what `python -m gan_lab dataset=NAME` would use. Never downloads."""
    names = sorted(p.stem for p in (config_dir() / "dataset").glob("*.yaml"))
    if name not in names:
        raise ConfigError(f"--dataset {name!r}: choose from {', '.join(names)}.")
    overrides = [f"dataset={name}", f"seed={seed}", "dataset.num_workers=0"]
    overrides += ["dataset.download=false"] if name in ("mnist", "fashion_mnist") else []
    overrides += [f"dataset.root={Path(root).resolve()}"] if root else []
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    dm = instantiate(cfg.dataset)
    if len(dm.data_shape) != 3:
        raise ConfigError(f"--dataset {name}: the study disturbs images; {name} is not an image dataset.")
    return dm, cfg.metrics


def extractor(
    metrics, features: str | None, classifier: str | None, inception: str | None, encoder: str | None = None
) -> Extractor:
    """The feature extractor: `features` (classifier, encoder or inception; default the dataset's metric
    set's)."""
    name = features or ("encoder" if encoder else (list(metrics.features) or ["inception"])[0])
    encoder = encoder or metrics.get("encoder")
    found = load_extractors(
        [name], classifier or metrics.classifier, inception, download=False, encoder=encoder
    )
    if not found:
        raise ConfigError(
            "the Inception FID weights are not in torch hub's cache: pass --inception-weights PATH."
        )
    return found[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {PROGRAM}", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dataset", required=True, help="a conf/dataset name: mnist, fashion_mnist, anime, ..."
    )
    parser.add_argument("--root", default=None, help="its folder (default: the dataset config's root)")
    parser.add_argument(
        "--other",
        default=None,
        help="another dataset, mixed in by the other_domain check (e.g. fashion_mnist)",
    )
    parser.add_argument("--other-root", default=None, help="its folder")
    parser.add_argument(
        "--out", type=Path, required=True, help="where results.csv, results.md, curves.png go"
    )
    parser.add_argument(
        "--features",
        choices=["classifier", "encoder", "inception"],
        default=None,
        help="the feature space (default: the dataset's metric set's first)",
    )
    parser.add_argument(
        "--classifier",
        default=None,
        help="a bundled classifier name or a classifier run's last.ckpt (default: the metric set's)",
    )
    parser.add_argument(
        "--encoder",
        default=None,
        help="a bundled encoder name or an encoder_faces run's last.ckpt (default: the metric set's)",
    )
    parser.add_argument("--inception-weights", default=None, help="the InceptionV3 FID weights file")
    parser.add_argument("--n", type=int, default=4000, help="real images disturbed (default 4000)")
    parser.add_argument("--n-reference", type=int, default=4000, help="real reference images (default 4000)")
    parser.add_argument("--levels", type=float, nargs="+", default=list(LEVELS), help="levels in [0, 1]")
    parser.add_argument(
        "--checks",
        nargs="+",
        default=list(CHECKS),
        choices=CHECKS,
        metavar="CHECK",
        help=f"which checks (default all: {', '.join(CHECKS)})",
    )
    parser.add_argument("--clusters", type=int, default=10, help="k of the k-means for drop_clusters")
    parser.add_argument("--orders", type=int, default=5, help="random drop orders averaged by drop_clusters")
    parser.add_argument("--seed", type=int, default=0, help="fixes the subsets, the noise and the clusters")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args(argv)

    with reported_as_one_line(PROGRAM):
        start = time.time()
        dm, metrics = datamodule(args.dataset, args.root, args.seed)
        net = extractor(metrics, args.features, args.classifier, args.inception_weights, args.encoder)
        net = net.to(args.device)
        reference, images, where = real_images(dm, args.n_reference, args.n, args.seed)
        other = None
        if args.other:
            other_dm, _ = datamodule(args.other, args.other_root, args.seed)
            other = some_images(other_dm, args.n, args.seed + 1)
        elif "other_domain" in args.checks and args.checks != list(CHECKS):  # asked for by name
            raise ConfigError("--checks other_domain needs --other (another dataset to mix in).")
        rows = run_study(
            net,
            reference.to(args.device),
            images.to(args.device),
            other,
            levels=args.levels,
            checks=args.checks,
            clusters=args.clusters,
            seed=args.seed,
            batch_size=args.batch_size,
            orders=args.orders,
            log=lambda line: print(f"{PROGRAM}: {line}"),
        )
        title = f"{args.dataset} in {net.name} space ({net.weights.name}: {net.space}): {where}"
        write_study(rows, args.out, title)
    verdict = monotone(rows)
    print(f"{PROGRAM}: {title}; {time.time() - start:.0f} s")
    for check, (fid_ok, kid_ok) in verdict.items():
        print(f"  {check:<18} monotone FID {'yes' if fid_ok else 'NO'}, KID {'yes' if kid_ok else 'NO'}")
    print(f"{PROGRAM}: -> {args.out}/: results.csv, results.md, curves.png")


if __name__ == "__main__":
    main()
