"""`python -m gan_lab.cli.generate ckpt=PATH n=64 out=PATH`: samples from a checkpoint's generator.

`mode=sample` (the default): `format=grid` writes one PNG (8 per row; a scatter plot for 2D data),
`format=files` one PNG per sample (`points.csv` for 2D data). The same `seed` gives the same samples. A
conditional generator takes `labels`: `all` (the default: sample i is of class i % num_classes, one class per
grid column), one class, or a list of classes repeated in turn (one per column).

`mode=progress run=RUN_DIR`: the run's sample grids, in step order, as `RUN_DIR/samples/progress.gif` and
`.mp4` (training writes these itself when it ends; this remakes them, e.g. at another `fps`).

`mode=interpolate`: `n` walks through latent space, one grid per frame, as OUT.gif and OUT.mp4. Each walk
follows great circles (slerp) through `stops` random codes and back to the first, so the video loops; a
conditional generator keeps each walk's label (chosen by `labels` as above).

A video generator's samples are clips: `format=grid` writes OUT as a filmstrip (one row per clip, one column
per frame) and the clips as one grid video beside it (OUT less its suffix, .gif and .mp4); `format=files`
a GIF and an MP4 per clip. `mode=content_motion` writes two filmstrips: `n` clips with one content and each
its own motion (OUT_content), and `n` with one motion and each its own content (OUT_motion).

`mode=neighbours`: `n` samples, each beside its `k` nearest training images in the feature space of the run's
metric set (or `features`): the check for memorization. It prints how far the samples are from their nearest
training image, beside how far training images are from their nearest other one.
"""

from pathlib import Path

import hydra
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torchvision.utils import save_image

from gan_lab.errors import ConfigError, reported_as_one_line
from gan_lab.metrics.features import load_extractors
from gan_lab.metrics.neighbours import dataset_features, nearest
from gan_lab.nets import latent_noise
from gan_lab.nets.video import frames_of
from gan_lab.paths import config_dir
from gan_lab.systems import load_system, pick_device, read_checkpoint, steps_of
from gan_lab.systems.base import grid_columns
from gan_lab.viz.animation import (
    CLIP_FPS,
    PROGRESS_FPS,
    clip_frames,
    grid_frame,
    latent_walk,
    progress_frames,
    sample_grids,
    write_video,
)
from gan_lab.viz.grids import save_neighbours, save_samples

FORMATS = ("grid", "files")
INTERPOLATE_FPS = 20


def requested_labels(labels, n: int, num_classes: int) -> tuple[torch.Tensor | None, int]:
    """The label of each of `n` samples, and the grid width that puts one class per column."""
    if not num_classes:
        if labels is not None:
            raise ConfigError(f"labels={labels}: this generator is unconditional; drop labels.")
        return None, 8
    if labels is None or labels == "all":
        return torch.arange(n) % num_classes, grid_columns(num_classes)
    classes = [labels] if isinstance(labels, int) else list(labels)
    if not classes or not all(isinstance(c, int) and 0 <= c < num_classes for c in classes):
        raise ConfigError(
            f"labels={labels}: use all, a class in 0..{num_classes - 1}, or a list of them, "
            "e.g. labels=[0,3]."
        )
    return torch.tensor(classes).repeat(n // len(classes) + 1)[:n], len(classes) if len(classes) > 1 else 8


def generate(cfg: DictConfig) -> Path:
    """Do what `cfg.mode` says; return the path written (for a video its MP4, the GIF beside it)."""
    if cfg.mode == "sample":
        return write_samples(cfg)
    if cfg.mode == "progress":
        return write_progress(cfg)
    if cfg.mode == "interpolate":
        return write_interpolation(cfg)
    if cfg.mode == "neighbours":
        return write_neighbours(cfg)
    if cfg.mode == "content_motion":
        return write_content_motion(cfg)
    raise ConfigError(f"mode={cfg.mode!r}: use sample, progress, interpolate, neighbours or content_motion.")


def _check_n(n) -> None:
    if not (isinstance(n, int) and n > 0):
        raise ConfigError(f"n={n!r}: use a positive number of samples.")


def _fps(fps, default: int) -> float:
    if fps is None:
        return default
    if isinstance(fps, bool) or not isinstance(fps, int | float) or fps <= 0:
        raise ConfigError(f"fps={fps!r}: use a positive number of frames per second, e.g. fps={default}.")
    return fps


def _video_path(out) -> Path:
    """`out` less its .gif or .mp4: both files are written."""
    path = Path(str(out)).expanduser()
    if path.suffix in (".gif", ".mp4"):
        return path.with_suffix("")
    if path.suffix:
        raise ConfigError(
            f"out={out!r}: name the video with no extension, or .mp4 or .gif "
            "(out=walk writes walk.mp4 and walk.gif)."
        )
    return path


def _system_of(cfg: DictConfig):
    """The checkpoint, its run's config, datamodule and system (on the device), the requested labels with
    their grid width: what sampling, walking and neighbour search start from."""
    checkpoint, run = read_checkpoint(cfg.ckpt)
    datamodule = instantiate(run.dataset)
    system = load_system(checkpoint, run, datamodule.data_shape).to(pick_device(cfg.device))
    if cfg.raw_generator:
        system.sample_with_ema = False
    labels, width = requested_labels(cfg.labels, cfg.n, system.num_classes)
    return checkpoint, run, datamodule, system, labels, width


def _image_generator(cfg: DictConfig, datamodule, mode: str) -> None:
    if len(datamodule.data_shape) == 1:
        raise ConfigError(
            f"ckpt={cfg.ckpt!r} generates 2D points: mode={mode} is for image generators. "
            "Use mode=sample for a scatter plot of its samples."
        )
    if len(datamodule.data_shape) == 4:
        raise ConfigError(
            f"ckpt={cfg.ckpt!r} generates clips: mode={mode} is for image generators. Use mode=sample "
            "(a filmstrip and a grid video) or mode=content_motion."
        )


def write_samples(cfg: DictConfig) -> Path:
    """Write `cfg.n` samples of the checkpoint's generator to `cfg.out`; return that path."""
    if cfg.format not in FORMATS:
        raise ConfigError(f"format={cfg.format!r}: use grid or files.")
    _check_n(cfg.n)
    checkpoint, _, datamodule, system, labels, width = _system_of(cfg)
    samples = system.sample(cfg.n, cfg.seed, labels, cfg.batch_size)
    out = Path(cfg.out)
    if len(datamodule.data_shape) == 4:
        return write_clips(samples, out, cfg, checkpoint)
    points = len(datamodule.data_shape) == 1
    if cfg.format == "grid":
        real = datamodule.real_samples(2500) if points else torch.empty(0)  # 2D: plotted over the real data
        save_samples(samples, real, out, title=f"{cfg.n} samples, seed {cfg.seed}", nrow=width)
    else:
        out.mkdir(parents=True, exist_ok=True)
        if points:
            lines = ["x,y", *(f"{x:.6f},{y:.6f}" for x, y in samples.tolist())]
            (out / "points.csv").write_text("\n".join(lines) + "\n")
        else:
            for i, image in enumerate(samples):
                name = f"{i:06d}.png" if labels is None else f"{i:06d}_class{labels[i]}.png"
                save_image(image, out / name, normalize=True, value_range=(-1, 1))
    print(f"{cfg.n} samples from {cfg.ckpt} (step {steps_of(checkpoint)}) written to {out}")
    return out


def write_clips(clips: torch.Tensor, out: Path, cfg: DictConfig, checkpoint: dict) -> Path:
    """A video generator's `clips` (N, C, T, H, W): a filmstrip at `out` and a grid video beside it, or one
    video per clip in the folder `out` (`format=files`)."""
    source = f"{len(clips)} clips from {cfg.ckpt} (step {steps_of(checkpoint)})"
    if cfg.format == "grid":
        save_samples(frames_of(clips), torch.empty(0), out, nrow=clips.shape[2])
        gif, mp4 = write_video(clip_frames(clips), out.with_suffix(""), CLIP_FPS)
        print(f"{source} written to {out}, {gif} and {mp4}")
    else:
        for i, clip in enumerate(clips):
            write_video(clip_frames(clip[None], 1), out / f"{i:06d}", CLIP_FPS)
        print(f"{source} written to {out}: a GIF and an MP4 each")
    return out


def write_content_motion(cfg: DictConfig) -> Path:
    """Two filmstrips of `cfg.n` clips: one content and each its own motion (OUT_content), one motion and
    each its own content (OUT_motion)."""
    _check_n(cfg.n)
    checkpoint, _, _, system, _, _ = _system_of(cfg)
    out = Path(cfg.out)
    for held in ("content", "motion"):
        clips = system.sample_held(cfg.n, cfg.seed, held)
        path = out.with_name(f"{out.stem}_{held}{out.suffix or '.png'}")
        save_samples(frames_of(clips), torch.empty(0), path, nrow=clips.shape[2])
    print(
        f"{cfg.n} clips with one content, and {cfg.n} with one motion, from {cfg.ckpt} (step "
        f"{steps_of(checkpoint)}) written to {out.stem}_content and {out.stem}_motion in {out.parent}"
    )
    return out


def write_progress(cfg: DictConfig) -> Path:
    """The sample grids of training run `cfg.run` as a video: at `cfg.out`, else in the run's samples/."""
    fps = _fps(cfg.fps, PROGRESS_FPS)
    samples = Path(str(cfg.run)).expanduser() / "samples"
    grids = sample_grids(samples)
    if len(grids) < 2:
        raise ConfigError(
            f"run={cfg.run!r}: {len(grids)} sample grids (step_NNNNNN.png) in {samples}; a progress video "
            "needs 2 or more. Pass a GAN training run folder, e.g. run=runs/quickstart/<date_time>, of a run "
            "trained with samples.every below train.steps."
        )
    out = samples / "progress" if OmegaConf.is_missing(cfg, "out") else _video_path(cfg.out)
    gif, mp4 = write_video(progress_frames(grids), out, fps)
    print(f"{len(grids)} sample grids of {cfg.run} written to {mp4} and {gif}")
    return mp4


def write_interpolation(cfg: DictConfig) -> Path:
    """A video of `cfg.n` latent walks from the checkpoint's generator, at `cfg.out`."""
    fps = _fps(cfg.fps, INTERPOLATE_FPS)
    _check_n(cfg.n)
    if isinstance(cfg.seconds, bool) or not isinstance(cfg.seconds, int | float) or cfg.seconds <= 0:
        raise ConfigError(f"seconds={cfg.seconds!r}: use a positive video length, e.g. seconds=6.")
    frames = round(fps * cfg.seconds)
    if frames < 2:
        raise ConfigError(f"fps={fps} x seconds={cfg.seconds} is {frames} frame(s): a video needs 2 or more.")
    if not (isinstance(cfg.stops, int) and cfg.stops >= 2):
        raise ConfigError(f"stops={cfg.stops!r}: use 2 or more latent codes per walk.")
    out = _video_path(cfg.out)
    checkpoint, _, datamodule, system, labels, width = _system_of(cfg)
    _image_generator(cfg, datamodule, "interpolate")
    codes = latent_noise(cfg.stops * cfg.n, system.nz, cfg.seed).view(cfg.stops, cfg.n, system.nz)
    video = [grid_frame(system.generate(z, labels).cpu(), width) for z in latent_walk(codes, frames)]
    gif, mp4 = write_video(video, out, fps)
    print(
        f"{cfg.n} latent walks, {frames} frames at {fps} fps, from {cfg.ckpt} "
        f"(step {steps_of(checkpoint)}) written to {mp4} and {gif}"
    )
    return mp4


def neighbour_space(cfg: DictConfig, run: DictConfig):
    """The feature extractor neighbours are found in: `cfg.features`, else the first of the run's metric set
    that is available, built with the run's own metric settings (`run`: its config's metrics)."""
    names = [cfg.features] if cfg.features is not None else list(run.get("features", []))
    extractors = load_extractors(
        names, run.get("classifier"), run.get("inception_weights"), run.get("inception_download", False),
        run.get("encoder"),
    )  # fmt: skip
    if not extractors:
        raise ConfigError(
            f"no feature space to find neighbours in (the run's metric set has features={names}): pass "
            "features=encoder (with metrics.encoder set in the run) or features=classifier."
        )
    return extractors[0]


def write_neighbours(cfg: DictConfig) -> Path:
    """`cfg.n` samples, each beside its `cfg.k` nearest training images, as one grid at `cfg.out`."""
    _check_n(cfg.n)
    if not (isinstance(cfg.k, int) and not isinstance(cfg.k, bool) and cfg.k > 0):
        raise ConfigError(f"k={cfg.k!r}: use a positive number of neighbours per sample, e.g. k=5.")
    checkpoint, run, datamodule, system, labels, _ = _system_of(cfg)
    _image_generator(cfg, datamodule, "neighbours")
    extractor = neighbour_space(cfg, run.metrics).to(system.device)
    datamodule.setup("fit")
    train = datamodule.train_set
    pool = dataset_features(extractor, train, cfg.batch_size)
    samples = system.sample(cfg.n, cfg.seed, labels, cfg.batch_size)
    with torch.inference_mode():
        queries = extractor(samples.to(system.device))[0].cpu()
    distances, indices = nearest(queries, pool, min(cfg.k, len(pool)))
    images = torch.stack([train[i][0] for i in indices.flatten().tolist()])
    out = save_neighbours(samples, images.view(*indices.shape, *images.shape[1:]), Path(cfg.out))
    reference = nearest(pool[: cfg.n * 10], pool, 2)[0][:, 1]  # each training image's nearest other one
    print(
        f"{cfg.n} samples from {cfg.ckpt} (step {steps_of(checkpoint)}) beside their {indices.shape[1]} "
        f"nearest of {len(pool)} training images in {extractor.name} space, written to {out}\n"
        f"distance to the nearest training image: median {distances[:, 0].median():.3f} for the samples, "
        f"{reference.median():.3f} for training images (to their nearest other one); samples much nearer "
        "than training images are to each other would be copies"
    )
    return out


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="generate")
def main(cfg: DictConfig) -> None:
    with reported_as_one_line("gan_lab.cli.generate"):
        generate(cfg)


if __name__ == "__main__":
    main()
