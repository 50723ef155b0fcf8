"""Is a feature space fit for FID and KID? Disturb real images step by step and watch the distances rise.

The check of Heusel et al. (2017, TTUR, Fig. 1 and appendix): a feature space is usable for FID when the
distance from a real reference set grows steadily as a disjoint set of real images is disturbed more and
more: Gaussian noise, Gaussian blur, black rectangles, swirl, salt-and-pepper noise, and a growing share of
images from another domain. Two more checks: two disjoint real sets should be near 0, and dropping whole
clusters of real images (k-means in the feature space, a stand-in for mode dropping) should raise both.

Everything takes the feature extractor as an argument (any callable from images in [-1, 1] to features, or
to a tuple whose first item is the features, as gan_lab's extractors return), so the same study validates the
MNIST classifier space, Inception, or a domain encoder of another dataset. FID and KID are gan_lab's own
(`gan_lab.metrics.scores`, torchmetrics underneath).

Each disturbance takes a level in [0, 1]: 0 is the identity, 1 the strongest setting. Random draws are made
once per image and reused at every level (the same noise scaled up, the same rectangles grown, the same
pixels plus more), so the levels of one curve differ in strength only, not in luck.
"""

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from kornia.contrib import KMeans  # noqa: E402
from kornia.filters import gaussian_blur2d  # noqa: E402
from torch import Tensor, nn  # noqa: E402
from torch.utils.data import DataLoader, Dataset, Subset  # noqa: E402

from gan_lab.data import DataModule  # noqa: E402
from gan_lab.errors import ConfigError, DataError  # noqa: E402
from gan_lab.metrics.scores import frechet_distance, kernel_distance  # noqa: E402

FeatureFn = Callable[[Tensor], Tensor | tuple[Tensor, ...]]
LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)
RECTANGLES = 5  # per image, as in TTUR's appendix


def _uniform(images: Tensor, seed: int) -> Tensor:
    """One uniform draw per pixel, shared by its channels, fixed by `seed`."""
    n, _, h, w = images.shape
    return torch.rand(n, 1, h, w, generator=torch.Generator().manual_seed(seed)).to(images.device)


def gaussian_noise(images: Tensor, level: float, seed: int = 0) -> Tensor:
    """(1 - a) x + a z with z ~ N(0, 1) per pixel and a = 0.75 x level, clipped to [-1, 1]: TTUR's mixing,
    up to its strongest level. Beyond a = 0.75 an MNIST digit is gone under the clipped noise, and two sets
    of pure noise are rightly as far from the real images as each other."""
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(images.shape, generator=gen).to(images.device)
    mix = 0.75 * level
    return ((1 - mix) * images + mix * noise).clamp(-1, 1)


def gaussian_blur(images: Tensor, level: float, seed: int = 0) -> Tensor:
    """A Gaussian blur of std level x side / 8 pixels (3.5 px at 28 px, 8 px at 64 px)."""
    sigma = level * images.shape[-1] / 8
    if sigma <= 0:
        return images.clone()
    size = 2 * math.ceil(3 * sigma) + 1  # the kernel reaches 3 std
    return gaussian_blur2d(images, (size, size), (sigma, sigma), border_type="replicate")


def black_rectangles(images: Tensor, level: float, seed: int = 0) -> Tensor:
    """Five black rectangles per image, each level x side / 2 pixels square, at random places."""
    n, _, h, w = images.shape
    side = round(level * min(h, w) / 2)
    out = images.clone()
    if side == 0:
        return out
    # Centres drawn once: a higher level grows the same rectangles.
    gen = torch.Generator().manual_seed(seed)
    centres = torch.stack(
        [
            torch.randint(0, h, (n, RECTANGLES), generator=gen),
            torch.randint(0, w, (n, RECTANGLES), generator=gen),
        ],
        -1,
    )
    rows = torch.arange(h).view(1, 1, h, 1)
    cols = torch.arange(w).view(1, 1, 1, w)
    top, left = (
        (centres[..., 0] - side // 2).view(n, -1, 1, 1),
        (centres[..., 1] - side // 2).view(n, -1, 1, 1),
    )
    inside = (rows >= top) & (rows < top + side) & (cols >= left) & (cols < left + side)
    out[inside.any(dim=1, keepdim=True).expand_as(out).to(out.device)] = -1.0
    return out


def swirl(images: Tensor, level: float, seed: int = 0) -> Tensor:
    """scikit-image's swirl about the centre: strength 4 x level, radius the image side.

    A pixel at distance r from the centre is read from the point turned by strength x exp(-r / (radius x
    ln 2 / 5)) radians, as skimage.transform.swirl does (by grid_sample here, batched, on any device).
    """
    strength = 4 * level
    if strength == 0:
        return images.clone()
    n, _, h, w = images.shape
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij"
    )
    cy, cx = (h - 1) / 2, (w - 1) / 2
    dy, dx = ys - cy, xs - cx
    rho = torch.sqrt(dx**2 + dy**2)
    theta = torch.atan2(dy, dx) + strength * torch.exp(-rho / (max(h, w) * math.log(2) / 5))
    x, y = cx + rho * torch.cos(theta), cy + rho * torch.sin(theta)
    grid = torch.stack([(2 * x + 1) / w - 1, (2 * y + 1) / h - 1], -1)  # pixel centres, align_corners=False
    grid = grid.to(images.device).expand(n, h, w, 2)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def salt_and_pepper(images: Tensor, level: float, seed: int = 0) -> Tensor:
    """A share 0.4 x level of the pixels set to black or white (half each), all channels alike.

    By hand rather than kornia's RandomSaltAndPepperNoise: one uniform draw per pixel, so that a higher
    level corrupts the same pixels and more (kornia draws afresh at every call).
    """
    share = 0.4 * level
    draw, colour = _uniform(images, seed), _uniform(images, seed + 1)
    hit = (draw < share).expand_as(images)
    salt = torch.where(colour < 0.5, -1.0, 1.0).expand_as(images)
    return torch.where(hit, salt, images)


def other_domain(images: Tensor, level: float, seed: int = 0, other: Tensor | None = None) -> Tensor:
    """A share `level` of the images replaced by images of another domain (the same ones, and more, as the
    level rises)."""
    if other is None:
        raise ConfigError("the other_domain disturbance needs images of another domain (`other`).")
    if other.shape[1:] != images.shape[1:]:
        raise ConfigError(
            f"other-domain images are {tuple(other.shape[1:])}, the real ones {tuple(images.shape[1:])}: "
            "load both at the same image size and channels."
        )
    count = round(level * len(images))
    if count > len(other):
        raise ConfigError(f"the other domain has {len(other)} images; level {level} needs {count}.")
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    out = images.clone()
    out[order[:count]] = other[:count].to(images.device, images.dtype)
    return out


DISTURBANCES: dict[str, Callable[..., Tensor]] = {
    "gaussian_noise": gaussian_noise,
    "gaussian_blur": gaussian_blur,
    "black_rectangles": black_rectangles,
    "swirl": swirl,
    "salt_and_pepper": salt_and_pepper,
    "other_domain": other_domain,
}
CHECKS = (*DISTURBANCES, "drop_clusters")


def disturb(name: str, images: Tensor, level: float, seed: int = 0, other: Tensor | None = None) -> Tensor:
    """`images` (N x C x H x W in [-1, 1]) under disturbance `name` at `level` in [0, 1]."""
    if name not in DISTURBANCES:
        raise ConfigError(f"unknown disturbance {name!r}: choose from {', '.join(DISTURBANCES)}.")
    if not 0 <= level <= 1:
        raise ConfigError(f"disturbance level {level} is outside [0, 1].")
    if name == "other_domain":
        return other_domain(images, level, seed, other)
    return DISTURBANCES[name](images, level, seed)


@torch.inference_mode()
def extract(extractor: FeatureFn, images: Tensor, batch_size: int = 500) -> Tensor:
    """Features of `images`, batched, on the CPU (as float32)."""
    params = list(extractor.parameters()) if isinstance(extractor, nn.Module) else []
    device = params[0].device if params else images.device  # a network's own device, else the images'
    parts = []
    for batch in images.split(batch_size):
        out = extractor(batch.to(device))
        parts.append((out[0] if isinstance(out, tuple | list) else out).float().cpu())
    return torch.cat(parts)


def _stack(dataset: Dataset, indices: list[int]) -> Tensor:
    return torch.cat([batch for batch, _ in DataLoader(Subset(dataset, indices), batch_size=1000)])


def _test_split(datamodule: DataModule) -> Dataset | None:
    try:
        return datamodule.load("test")
    except DataError:  # image folders have a training split only
        return None


def real_images(
    datamodule: DataModule, n_reference: int, n: int, seed: int = 0
) -> tuple[Tensor, Tensor, str]:
    """Two disjoint sets of real images: `n_reference` of the training split as the reference and `n` of
    the test split (or, for a dataset with a training split only, `n` other training images), each a random
    subset fixed by `seed`; and a line saying where they came from."""
    train, test = datamodule.load("train"), _test_split(datamodule)
    gen = torch.Generator().manual_seed(seed)
    if test is None:
        if n_reference + n > len(train):
            raise ConfigError(f"{datamodule.name} has {len(train)} images: fewer than {n_reference} + {n}.")
        order = torch.randperm(len(train), generator=gen).tolist()
        where = f"{n_reference} + {n} disjoint images of the training split"
        return _stack(train, order[:n_reference]), _stack(train, order[n_reference : n_reference + n]), where
    for split, wanted, size in (("train", n_reference, len(train)), ("test", n, len(test))):
        if wanted > size:
            raise ConfigError(f"{datamodule.name}'s {split} split has {size} images, fewer than {wanted}.")
    reference = _stack(train, torch.randperm(len(train), generator=gen)[:n_reference].tolist())
    images = _stack(test, torch.randperm(len(test), generator=gen)[:n].tolist())
    return reference, images, f"{n_reference} training images as reference, {n} test images disturbed"


def some_images(datamodule: DataModule, n: int, seed: int = 0) -> Tensor:
    """`n` images of the test split (else the training split), a random subset fixed by `seed`: the other
    domain's images."""
    data = _test_split(datamodule)
    data = datamodule.load("train") if data is None else data
    if n > len(data):
        raise ConfigError(f"{datamodule.name} has {len(data)} images, fewer than {n}.")
    return _stack(data, torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:n].tolist())


@dataclass
class Row:
    """One point of a curve: `check` at `level`, `n` evaluated images, FID and KID against the reference."""

    check: str
    level: float
    n: int
    fid: float
    kid: float
    kid_std: float | None


def distances(reference: Tensor, features: Tensor) -> tuple[float, float, float | None]:
    """FID, KID and KID's std over subsets of `features` against `reference` (gan_lab.metrics.scores)."""
    kid, kid_std = kernel_distance(reference, features)
    return frechet_distance(reference, features), kid, kid_std


def real_halves(features: Tensor, seed: int = 0) -> Row:
    """FID and KID between two random disjoint halves of one real set: what "the same distribution" scores
    at this sample size (FID is biased upwards by about 1/n; KID is unbiased)."""
    order = torch.randperm(len(features), generator=torch.Generator().manual_seed(seed))
    half = len(features) // 2
    return Row("real_halves", 0.0, half, *distances(features[order[:half]], features[order[half : 2 * half]]))


def kmeans(features: Tensor, k: int, seed: int = 0) -> Tensor:
    """k-means cluster of each row of `features` (kornia's KMeans, started from k distinct random rows)."""
    if not 1 <= k <= len(features):
        raise ConfigError(f"k-means with k={k} needs 1..{len(features)} clusters.")
    start = features[torch.randperm(len(features), generator=torch.Generator().manual_seed(seed))[:k]]
    with torch.random.fork_rng():  # kornia reseeds and draws from the global RNG (for empty clusters)
        torch.manual_seed(seed)
        model = KMeans(k, start.clone(), tolerance=1e-4, max_iterations=300)
        model.fit(features)
    return model.predict(features)


def drop_clusters(
    reference: Tensor,
    features: Tensor,
    k: int = 10,
    seed: int = 0,
    orders: int = 5,
    drops: Sequence[int] | None = None,
) -> list[Row]:
    """Distances after leaving out 0, 1, ..., k - 1 of the k k-means clusters of `features`, a stand-in for
    a generator that drops modes. Level is the share of clusters dropped.

    Each value is the mean over `orders` random orders of dropping: which clusters remain moves the
    distance as much as how many (one order, the largest cluster first, made the MNIST classifier space
    dip at the last steps, where one or two clusters are left, before and after its fix). The retained
    images are used as they are, so the set shrinks as clusters go; `n` is the mean count. `kid_std` is
    the mean of KID's std over subsets, None where a set had fewer images than a KID subset.
    """
    labels = kmeans(features, k, seed)
    gen = torch.Generator().manual_seed(seed)
    drawn = [torch.randperm(k, generator=gen) for _ in range(orders)]
    rows = []
    for dropped in drops if drops is not None else range(k):
        results = []
        for order in drawn:
            kept = features[~torch.isin(labels, order[:dropped].to(labels.dtype))]
            if len(kept) < 2:
                raise ConfigError(f"dropping {dropped} of {k} clusters leaves {len(kept)} images: use fewer.")
            results.append((len(kept), *distances(reference, kept)))
        n, fid, kid = (sum(r[i] for r in results) / len(results) for i in range(3))
        stds = [r[3] for r in results]
        kid_std = None if None in stds else sum(stds) / len(stds)
        rows.append(Row("drop_clusters", dropped / k, round(n), fid, kid, kid_std))
    return rows


def run_study(
    extractor: FeatureFn,
    reference: Tensor,
    images: Tensor,
    other: Tensor | None = None,
    levels: Sequence[float] = LEVELS,
    checks: Sequence[str] = CHECKS,
    clusters: int = 10,
    seed: int = 0,
    batch_size: int = 500,
    orders: int = 5,
    log: Callable[[str], None] | None = None,
) -> list[Row]:
    """Every check of `checks` on `images` (real, disjoint from `reference`): FID and KID in `extractor`'s
    space against `reference`, at every level. `other` (another domain's images, at least as many as
    `images`) is needed for other_domain; it is left out when `other` is None. drop_clusters uses `clusters`
    k-means clusters and the mean over `orders` random drop orders. The first row is the two disjoint halves
    of `reference`.
    """
    unknown = sorted(set(checks) - set(CHECKS))
    if unknown:
        raise ConfigError(f"unknown checks {unknown}: choose from {', '.join(CHECKS)}.")
    if reference.shape[1:] != images.shape[1:]:
        raise ConfigError(
            f"reference images are {tuple(reference.shape[1:])}, the others {tuple(images.shape[1:])}."
        )
    # torchmetrics draws KID's subsets from the global RNG: seeded here, and put back after, so that the
    # same call gives the same numbers and the caller's RNG goes on as if the study never ran.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _run_checks(
            extractor, reference, images, other, levels, checks, clusters, seed, batch_size, orders, log
        )


def _run_checks(extractor, reference, images, other, levels, checks, clusters, seed, batch_size, orders, log):
    ref = extract(extractor, reference, batch_size)
    rows = [real_halves(ref, seed)]
    for name in checks:
        if name == "drop_clusters":
            rows += drop_clusters(ref, extract(extractor, images, batch_size), clusters, seed, orders)
        elif name == "other_domain" and other is None:
            continue
        else:
            for level in levels:
                features = extract(extractor, disturb(name, images, level, seed, other), batch_size)
                rows.append(Row(name, float(level), len(images), *distances(ref, features)))
        if log:
            curve = [r for r in rows if r.check == name]
            log(f"{name}: FID " + ", ".join(f"{r.fid:.4g}" for r in curve))
    return rows


def increasing(values: Sequence[float]) -> bool:
    """Every value above the one before."""
    return all(b > a for a, b in zip(values, values[1:], strict=False))


def monotone(rows: Sequence[Row]) -> dict[str, tuple[bool, bool]]:
    """Per check: (FID rises at every level, KID rises at every level)."""
    verdict = {}
    for check in dict.fromkeys(r.check for r in rows if r.check != "real_halves"):
        curve = sorted((r for r in rows if r.check == check), key=lambda r: r.level)
        verdict[check] = (increasing([r.fid for r in curve]), increasing([r.kid for r in curve]))
    return verdict


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def write_study(rows: Sequence[Row], out: Path, title: str) -> list[Path]:
    """results.csv (every row), results.md (a table per check and the verdict) and curves.png (one panel per
    check, FID and KID against level, the real-halves values as dotted lines) into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    csv_path, md_path, png_path = out / "results.csv", out / "results.md", out / "curves.png"
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(asdict(rows[0])))
        writer.writeheader()
        writer.writerows(asdict(r) for r in rows)

    verdict = monotone(rows)
    halves = next((r for r in rows if r.check == "real_halves"), None)
    lines = [f"# {title}", ""]
    if halves:
        lines += [
            f"Two disjoint real halves ({halves.n} each): FID {halves.fid:.4g}, KID {halves.kid:.4g}.",
            "",
        ]
    lines += ["| check | monotone FID | monotone KID |", "| --- | --- | --- |"]
    lines += [f"| {c} | {'yes' if f else 'no'} | {'yes' if k else 'no'} |" for c, (f, k) in verdict.items()]
    lines += ["", "| check | level | n | FID | KID | KID std |", "| --- | --- | --- | --- | --- | --- |"]
    lines += [
        f"| {r.check} | {r.level:g} | {r.n} | {r.fid:.4g} | {r.kid:.4g} | {_number(r.kid_std)} |"
        for r in rows
        if r.check != "real_halves"
    ]
    md_path.write_text("\n".join(lines) + "\n")

    checks = list(verdict)
    cols = min(4, len(checks))
    fig, axes = plt.subplots(
        math.ceil(len(checks) / cols),
        cols,
        figsize=(3.6 * cols, 3.0 * math.ceil(len(checks) / cols)),
        squeeze=False,
    )
    for ax in axes.flat[len(checks) :]:
        ax.axis("off")
    for ax, check in zip(axes.flat, checks, strict=False):
        curve = sorted((r for r in rows if r.check == check), key=lambda r: r.level)
        levels = [r.level for r in curve]
        ax.plot(levels, [r.fid for r in curve], "o-", color="tab:blue", label="FID")
        twin = ax.twinx()
        twin.plot(levels, [r.kid for r in curve], "s--", color="tab:orange", label="KID")
        if halves:
            ax.axhline(halves.fid, color="tab:blue", ls=":", lw=1)
            twin.axhline(halves.kid, color="tab:orange", ls=":", lw=1)
        fid_ok, kid_ok = verdict[check]
        ax.set_title(
            f"{check}\nmonotone: FID {'yes' if fid_ok else 'NO'}, KID {'yes' if kid_ok else 'NO'}", fontsize=9
        )
        ax.set_xlabel("share of clusters dropped" if check == "drop_clusters" else "level")
        ax.set_ylabel("FID", color="tab:blue")
        twin.set_ylabel("KID", color="tab:orange")
        ax.tick_params(labelsize=7)
        twin.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return [csv_path, md_path, png_path]
