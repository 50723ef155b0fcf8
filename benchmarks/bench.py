"""`python benchmarks/bench.py`: training speed, gan_lab against a plain PyTorch loop (benchmarks/README.md).

For each experiment of conf/bench.yaml and each switch (baseline, nchw, compile, bf16, on_device) it
measures two paths on the same G, D, loss, optimizers, batch size and data, and on request a third:

- `gan_lab`: `gan_lab.training.run.run` on conf/train.yaml composed as `python -m gan_lab experiment=...`
  would, so the Trainer, the callbacks, the progress bar, the CSV logger and the dataset's loading all run.
- `plain`: a loop written here, the zero-overhead reference: the G, D, loss and optimizers of the system that
  `gan_lab.training.run.build` makes from that same config (same layers, same initial weights, same switches
  applied), and the whole training set already in memory on the device, indexed for random batches. Each
  step does the work of `LatentGAN.training_step` without penalty, augmentation or EMA: n_critic D updates
  on real + fake, then one G update, the other network frozen.
- `peer` (`paths=[gan_lab,plain,peer]`, image folders only): the pipeline of pytorch/examples' dcgan/main.py,
  rebuilt from its documented facts rather than its code: torchvision ImageFolder decoding every image every
  epoch, 2 loader workers, fp32, NCHW, a Sigmoid on D with BCELoss. The switches do not apply to it.

Each measurement runs in a fresh process (this script again, `--child JOB_FILE`), so that its peak RSS (and
peak GPU memory) is its own, and the two paths take turns (A B, then B A in the next round) so that drift on
a shared machine hits both alike. Only steady-state steps are timed: after `warmup` steps (which hold
torch.compile's compilation), `steps` steps between two clock reads, with a CUDA synchronize at both ends on
a GPU.
"""

import contextlib
import csv
import json
import logging
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any
from unittest import mock

import hydra
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, open_dict

from gan_lab.errors import ConfigError
from gan_lab.paths import config_dir

log = logging.getLogger(__name__)

PATHS = ("gan_lab", "plain", "peer")  # every path there is; conf/bench.yaml `paths` picks
SCRIPT = Path(__file__).resolve()  # a measuring process runs this file again: `python SCRIPT --child JOB`
COMMAND = "python benchmarks/bench.py"


# ---------------------------------------------------------------------------------------------- measuring


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _usage() -> tuple[int, int, int]:
    """This process's minor page faults, voluntary and involuntary context switches so far (all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_minflt, usage.ru_nvcsw, usage.ru_nivcsw


def _window_usage(start: tuple[int, int, int], end: tuple[int, int, int], steps: int) -> dict[str, float]:
    """Per timed step: page faults (memory the allocator got fresh from the kernel) and context switches
    (waits, and preemptions by other processes: a loader's workers, a neighbour)."""
    names = ("minor_faults", "voluntary_switches", "involuntary_switches")
    return {f"{name}_per_step": (b - a) / steps for name, a, b in zip(names, start, end, strict=True)}


def fingerprint(net: torch.nn.Module) -> float:
    """A number that moves when the weights do: tells whether a path trained, and whether two paths started
    from the same weights."""
    with torch.no_grad():
        return float(sum(p.double().abs().sum() for p in net.parameters()))


def parameter_count(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def _nets(generator: torch.nn.Module, discriminator: torch.nn.Module) -> dict[str, Any]:
    return {
        "params_g": parameter_count(generator),
        "params_d": parameter_count(discriminator),
        "fingerprint_g": fingerprint(generator),
        "fingerprint_d": fingerprint(discriminator),
    }


def compose_train(overrides: list[str]) -> DictConfig:
    """conf/train.yaml with `overrides`, as `python -m gan_lab OVERRIDES` composes it."""
    import gan_lab.config.schema  # noqa: F401  registers the schema conf/train.yaml's defaults name

    GlobalHydra.instance().clear()
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        return compose("train", overrides=overrides)


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda"):
        raise ConfigError(f"device={name!r} cannot work: use auto, cpu or cuda.")
    return torch.device(name)


def measure_gan_lab(cfg: DictConfig, warmup: int, steps: int, device: torch.device) -> dict[str, Any]:
    """Run `gan_lab.training.run.run(cfg)` for warmup + steps steps; time steps warmup+1 .. warmup+steps.

    run() builds its own callbacks, so the clock goes in as its ImagesPerSecond: the same callback, logging
    the same numbers, that also reads the clock at the two ends of the window (and syncs CUDA there only).
    """
    from gan_lab.training import run as training

    window: dict[str, Any] = {}

    class WindowedImagesPerSecond(training.ImagesPerSecond):
        def on_train_start(self, trainer, pl_module) -> None:
            window["start"] = _nets(pl_module.generator, pl_module.discriminator)
            window["t_start"] = time.perf_counter()

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
            done = pl_module.steps_done
            if done in (warmup, warmup + steps):
                _sync(device)
                window["wall" if done == warmup else "wall_end"] = time.perf_counter()
                window["cpu" if done == warmup else "cpu_end"] = time.process_time()
                window["usage" if done == warmup else "usage_end"] = _usage()
            if done == warmup + steps:
                window["images"] = steps * len(batch[0])
                window["end"] = _nets(pl_module.generator, pl_module.discriminator)

    with mock.patch.object(training, "ImagesPerSecond", WindowedImagesPerSecond):
        training.run(cfg)
    if "wall_end" not in window:
        raise RuntimeError(f"the gan_lab run ended before step {warmup + steps}")
    return {
        "images": window["images"],
        "seconds": window["wall_end"] - window["wall"],
        "cpu_seconds": window["cpu_end"] - window["cpu"],
        **_window_usage(window["usage"], window["usage_end"], steps),
        "warmup_s": window["wall"] - window["t_start"],
        "start": window["start"],
        "end": window["end"],
    }


def in_memory(dataset: torch.utils.data.Dataset, workers: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The whole dataset as one (samples, labels) pair of tensors, decoded by the dataset's own transform."""
    if isinstance(dataset, torch.utils.data.TensorDataset):
        return dataset.tensors[0], dataset.tensors[1]
    loader = torch.utils.data.DataLoader(dataset, batch_size=500, num_workers=workers)
    samples, labels = zip(*loader, strict=True)
    return torch.cat(samples), torch.cat([torch.as_tensor(y) for y in labels])


def _autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """The autocast Lightning's `trainer.precision` puts around training_step."""
    if precision in ("32", "32-true"):
        return contextlib.nullcontext()
    if precision in ("bf16-mixed", "bf16"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    raise ConfigError(f"trainer.precision={precision}: the plain loop measures 32 and bf16-mixed only.")


def _trainable(train: torch.nn.Module, frozen: torch.nn.Module) -> None:
    # What Lightning's toggle_optimizer does: the frozen network gets no weight gradients (the G step then
    # back-propagates through D without computing D's own gradients).
    frozen.requires_grad_(False)
    train.requires_grad_(True)


def measure_plain(cfg: DictConfig, warmup: int, steps: int, device: torch.device) -> dict[str, Any]:
    """A plain PyTorch training loop over gan_lab's own networks, loss and optimizers; data in memory."""
    import pytorch_lightning as pl
    from hydra.utils import instantiate

    from gan_lab.config.validate import validate
    from gan_lab.systems.build import uses_channels_last
    from gan_lab.training.run import build

    validate(cfg)
    if any(cfg.system.get(part) is not None for part in ("penalty", "augment", "ema")):
        raise ConfigError("the plain loop measures the adversarial step only: no penalty, augment or ema.")
    pl.seed_everything(cfg.seed, workers=True, verbose=False)  # as run() does: the same initial weights
    datamodule = instantiate(cfg.dataset)
    system = build(cfg, datamodule)  # the switches (channels_last, compile) applied to G and D here
    datamodule.prepare_data()
    datamodule.setup("fit")
    data, labels = in_memory(datamodule.train_set, datamodule.num_workers)
    channels_last = uses_channels_last(cfg, datamodule.data_shape)
    data = data.to(device)
    if channels_last:
        data = data.contiguous(memory_format=torch.channels_last)
    labels = labels.to(device)
    generator, discriminator = system.generator.to(device), system.discriminator.to(device)
    loss, nz, num_classes, n_critic = system.loss, system.nz, system.num_classes, system.n_critic
    clip = system.grad_clip
    # The system's own optimizer factories: the configured classes and settings (D's lr following G's).
    opt_d = system.optimizer_factories["discriminator"](discriminator.parameters())
    opt_g = system.optimizer_factories["generator"](generator.parameters())
    batch_size, n = cfg.dataset.batch_size, len(data)
    autocast = _autocast(str(cfg.trainer.precision), device)

    def noise() -> tuple[torch.Tensor, torch.Tensor | None]:
        z = torch.randn(batch_size, nz, device=device)
        return z, torch.randint(num_classes, (batch_size,), device=device) if num_classes else None

    def update(optimizer: torch.optim.Optimizer, value: torch.Tensor, net: torch.nn.Module) -> None:
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
        optimizer.step()

    def step() -> None:
        index = torch.randint(n, (batch_size,), device=device)
        real, real_y = data[index], labels[index] if num_classes else None
        if channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        with autocast:
            _trainable(discriminator, generator)
            for _ in range(n_critic):
                z, y = noise()
                with torch.no_grad():
                    fake = generator(z, y)
                update(
                    opt_d,
                    loss.discriminator(discriminator(real, real_y), discriminator(fake, y)),
                    discriminator,
                )
            _trainable(generator, discriminator)
            z, y = noise()
            update(opt_g, loss.generator(discriminator(generator(z, y), y)), generator)

    start = _nets(generator, discriminator)
    generator.train(), discriminator.train()
    t_start = time.perf_counter()
    for _ in range(warmup):
        step()
    _sync(device)
    wall, cpu, usage = time.perf_counter(), time.process_time(), _usage()
    for _ in range(steps):
        step()
    _sync(device)
    wall_end, cpu_end, usage_end = time.perf_counter(), time.process_time(), _usage()
    return {
        "images": steps * batch_size,
        "seconds": wall_end - wall,
        "cpu_seconds": cpu_end - cpu,
        **_window_usage(usage, usage_end, steps),
        "warmup_s": wall - t_start,
        "start": start,
        "end": _nets(generator, discriminator),
    }


def peer_transform(image_size: int):
    """pytorch/examples dcgan's transform for image folders: resize, centre-crop, to [-1, 1]."""
    from torchvision import transforms

    return transforms.Compose([
        transforms.Resize(image_size),
        transforms.CenterCrop(image_size),
        transforms.ToTensor(),
        transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    ])  # fmt: skip


def peer_image_folder(root: str, work: Path) -> Path:
    """ImageFolder reads one subfolder per class: a folder in `work` whose one class, `images`, links to
    `root` (a flat folder of images, as the anime faces are)."""
    if not Path(root).is_dir():
        raise ConfigError(f"the peer path reads a folder of images; dataset.root={root} is not a folder.")
    folder = work / "peer_image_folder"
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "images"
    if not link.exists():
        link.symlink_to(Path(root).resolve(), target_is_directory=True)
    return folder


def measure_peer(cfg: DictConfig, warmup: int, steps: int, device: torch.device) -> dict[str, Any]:
    """The pipeline of pytorch/examples' dcgan/main.py, from its documented facts: an ImageFolder decoded
    every epoch by a shuffling DataLoader of `peer.workers` workers, fp32, NCHW, D + Sigmoid with BCELoss,
    Adam 2e-4 (0.5, 0.999); per batch, D on real then on G's fakes (detached), then G on D of the same
    fakes. Its G and D are gan_lab's DCGAN pair built from the config (that example's netG and netD layer
    for layer at 64 px, the same initial weights as the other paths)."""
    import pytorch_lightning as pl
    from hydra.utils import instantiate
    from torchvision import datasets

    from gan_lab.training.run import build

    if "root" not in cfg.dataset:
        raise ConfigError("the peer path reads a folder of image files: use a dataset with a root folder.")
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = instantiate(cfg.dataset)
    system = build(cfg, datamodule)
    generator = system.generator.to(device)
    discriminator = torch.nn.Sequential(system.discriminator, torch.nn.Sigmoid()).to(device)
    folder = peer_image_folder(cfg.dataset.root, Path(cfg.paths.output_dir))
    images = datasets.ImageFolder(str(folder), transform=peer_transform(cfg.dataset.image_size))
    loader = torch.utils.data.DataLoader(
        images, batch_size=cfg.dataset.batch_size, shuffle=True, num_workers=cfg.peer_workers
    )
    criterion = torch.nn.BCELoss()
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def batches() -> Iterator[torch.Tensor]:
        while True:  # epoch after epoch: the workers start again and decode every image again
            for real, _ in loader:
                yield real

    stream = batches()

    def step() -> int:
        real = next(stream).to(device)
        b = real.size(0)
        discriminator.zero_grad()
        label = torch.full((b,), 1.0, device=device)
        criterion(discriminator(real).view(-1), label).backward()
        fake = generator(torch.randn(b, system.nz, device=device))
        label.fill_(0.0)
        criterion(discriminator(fake.detach()).view(-1), label).backward()
        opt_d.step()
        generator.zero_grad()
        label.fill_(1.0)
        criterion(discriminator(fake).view(-1), label).backward()
        opt_g.step()
        return b

    start = _nets(generator, system.discriminator)
    t_start = time.perf_counter()
    for _ in range(warmup):
        step()
    _sync(device)
    wall, cpu, usage = time.perf_counter(), time.process_time(), _usage()
    done = sum(step() for _ in range(steps))
    _sync(device)
    wall_end, cpu_end, usage_end = time.perf_counter(), time.process_time(), _usage()
    return {
        "images": done,
        "seconds": wall_end - wall,
        "cpu_seconds": cpu_end - cpu,
        **_window_usage(usage, usage_end, steps),
        "warmup_s": wall - t_start,
        "start": start,
        "end": _nets(generator, system.discriminator),
    }


MEASURES = {"gan_lab": measure_gan_lab, "plain": measure_plain, "peer": measure_peer}


def measure(job: dict[str, Any], own_process: bool = True) -> dict[str, Any]:
    """One measurement (one path, one config, one switch), in this process. Peak RSS is the process's, so it
    is only reported from a process of its own."""
    device = _device(job["device"])
    if job.get("threads"):
        torch.set_num_threads(job["threads"])
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    accelerator = {"cpu": "cpu", "cuda": "gpu"}[device.type]
    cfg = compose_train(
        [*job["overrides"], f"trainer.accelerator={accelerator}", f"paths.output_dir={job['out']}"]
    )
    if job["path"] == "peer":
        with open_dict(cfg):
            cfg.peer_workers = job.get("peer_workers", 2)
    result = MEASURES[job["path"]](cfg, job["warmup"], job["steps"], device)
    result["images_per_sec"] = result["images"] / result["seconds"]
    result["images_per_cpu_sec"] = result["images"] / result["cpu_seconds"]
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
    result["peak_rss_mib"] = rss if own_process else None
    if device.type == "cuda":
        result["peak_gpu_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    result["threads"] = torch.get_num_threads()
    start, end = result["start"], result["end"]
    result["trained"] = all(start[k] != end[k] for k in ("fingerprint_g", "fingerprint_d"))
    return result


def child(job_file: str) -> None:
    """The entry point of a measuring process: read the job, measure, write the result beside the job."""
    job = json.loads(Path(job_file).read_text())
    result = measure(job)
    Path(job["result"]).write_text(json.dumps(result, indent=2) + "\n")


def run_in_child(job: dict[str, Any], work: Path) -> dict[str, Any]:
    """`measure(job)` in a fresh Python process; its job, output and result go to `work`."""
    name = Path(job["out"]).name
    job = {**job, "result": str(work / f"{name}.json")}
    job_file = work / f"{name}.job.json"
    job_file.write_text(json.dumps(job, indent=2) + "\n")
    command = [sys.executable, str(SCRIPT), "--child", str(job_file)]  # this file, run as a script again
    with open(work / f"{name}.log", "w") as output:
        done = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        tail = "\n".join((work / f"{name}.log").read_text().splitlines()[-15:])
        raise RuntimeError(f"bench: the measurement {name} failed (log: {work / name}.log):\n{tail}")
    return json.loads(Path(job["result"]).read_text())


# ------------------------------------------------------------------------------------------------- report


def describe_machine(device: torch.device, threads: list[int]) -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    facts = {
        "cpu": f"{cpu}, {os.cpu_count()} logical cores; torch threads per measurement: "
        f"{', '.join(map(str, sorted(set(threads))))}",
        "torch": torch.__version__,
        "lightning": metadata.version("pytorch-lightning"),  # without importing it: the parent stays light
        "python": platform.python_version(),
    }
    if device.type == "cuda":
        facts["gpu"] = f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    return facts


def _median(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


CLOCKS = {"wall": "images_per_sec", "cpu": "images_per_cpu_sec"}


def _ratios(mine: list[dict], key: str, versus: str = "plain") -> tuple[float, list[float]]:
    """median(gan_lab) / median(versus), and each round's own ratio (its runs were back to back)."""
    ours, theirs = (_median([r for r in mine if r["path"] == p], key) for p in ("gan_lab", versus))
    rounds: dict[int, dict[str, float]] = {}
    for r in mine:
        rounds.setdefault(r["round"], {})[r["path"]] = r[key]
    return ours / theirs, [p["gan_lab"] / p[versus] for p in rounds.values() if {"gan_lab", versus} <= set(p)]


def summarise(results: list[dict[str, Any]], clock: str = "wall") -> list[dict[str, Any]]:
    """One row per (config, switch): each path's median img/s over rounds by `clock`, gan_lab's ratio to
    the plain loop (and to the peer, when measured), the spread of the per-round ratios (a guide to the
    noise), the ratio by the other clock, memory, and the switch's effect on gan_lab's throughput (against
    the config's baseline)."""
    if clock not in CLOCKS:
        raise ConfigError(f"clock={clock!r} cannot work: use wall or cpu.")
    key, other = CLOCKS[clock], CLOCKS["cpu" if clock == "wall" else "wall"]
    rows: list[dict[str, Any]] = []
    for config, switch in dict.fromkeys((r["config"], r["switch"]) for r in results):
        mine = [r for r in results if (r["config"], r["switch"]) == (config, switch)]
        by_path = {p: [r for r in mine if r["path"] == p] for p in PATHS}
        ratio, per_round = _ratios(mine, key)
        row = {"config": config, "switch": switch, "clock": clock, "rounds": len(per_round)}
        for p in PATHS:
            row[f"{p}_img_s"] = _median(by_path[p], key)
        row.update(ratio=ratio, ratio_min=min(per_round), ratio_max=max(per_round))
        row["ratio_other_clock"] = _ratios(mine, other)[0]
        if by_path["peer"]:
            ratio, per_round = _ratios(mine, key, "peer")
            row.update(ratio_peer=ratio, ratio_peer_min=min(per_round), ratio_peer_max=max(per_round))
        for p in PATHS:
            row[f"{p}_rss_mib"] = _median(by_path[p], "peak_rss_mib")
            row[f"{p}_gpu_mib"] = _median(by_path[p], "peak_gpu_mib")
            row[f"{p}_warmup_s"] = _median(by_path[p], "warmup_s")
        rows.append(row)
    for row in rows:
        base = next((b for b in rows if b["config"] == row["config"] and b["switch"] == "baseline"), None)
        row["vs_baseline"] = row["gan_lab_img_s"] / base["gan_lab_img_s"] if base else None
    return rows


def _fmt(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The summary as Markdown: throughput and ratios by the run's clock, then memory and warm-up."""
    gpu = any(r["gan_lab_gpu_mib"] is not None for r in rows)
    peer = any(r.get("ratio_peer") is not None for r in rows)
    paths = PATHS if peer else PATHS[:2]
    clock = rows[0]["clock"] if rows else "wall"
    unit = "img/s" if clock == "wall" else "img/CPU-s"
    head = ["config", "switch", f"gan_lab {unit}", f"plain {unit}", "gan_lab/plain", "per-round ratios"]
    if peer:
        head += [f"peer {unit}", "gan_lab/peer", "per-round ratios (peer)"]
    if not gpu:  # on a GPU the process's CPU time says little
        head.append(f"ratio by {'CPU time' if clock == 'wall' else 'wall clock'}")
    slash = " / ".join(paths)
    head += ["switch effect (gan_lab)", f"peak RSS MiB {slash}"]
    if gpu:
        head.append(f"peak GPU MiB {slash}")
    head.append(f"warm-up s {slash}")
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in rows:
        cells = [
            r["config"],
            r["switch"],
            _fmt(r["gan_lab_img_s"], ".0f"),
            _fmt(r["plain_img_s"], ".0f"),
            f"**{r['ratio']:.3f}**",
            f"{r['ratio_min']:.3f}–{r['ratio_max']:.3f} ({r['rounds']})",
        ]
        if peer:
            cells += [_fmt(r["peer_img_s"], ".0f"), f"**{_fmt(r.get('ratio_peer'), '.2f')}**"]
            cells.append(
                f"{r['ratio_peer_min']:.2f}–{r['ratio_peer_max']:.2f}" if r.get("ratio_peer") else ""
            )
        if not gpu:
            cells.append(f"{r['ratio_other_clock']:.3f}")
        effect = r["vs_baseline"] if r["switch"] != "baseline" else None
        cells.append("" if effect is None else f"x{effect:.2f}")
        for what, spec in (("rss_mib", ".0f"), ("gpu_mib", ".0f"), ("warmup_s", ".1f")):
            if what != "gpu_mib" or gpu:
                cells.append(" / ".join(_fmt(r[f"{p}_{what}"], spec) for p in paths))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_report(results: list[dict], rows: list[dict], machine: dict, command: str, out: Path) -> str:
    """results.md (the table), results.csv (every measurement), results.json (all of it); returns the md."""
    out.mkdir(parents=True, exist_ok=True)
    facts = "\n".join(f"- {k}: {v}" for k, v in machine.items())
    md = f"Command: `{command}`\n\n{facts}\n\n{markdown_table(rows)}"
    (out / "results.md").write_text(md)
    flat = [{k: v for k, v in r.items() if not isinstance(v, dict)} for r in results]
    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for r in flat for k in r)))
        writer.writeheader()
        writer.writerows(flat)
    summary = {"command": command, "machine": machine, "summary": rows, "measurements": results}
    (out / "results.json").write_text(json.dumps(summary, indent=2) + "\n")
    return md


# -------------------------------------------------------------------------------------------------- main


def jobs(cfg: DictConfig) -> Iterator[dict[str, Any]]:
    """Every measurement in running order: round by round, each (config, switch) pair's two paths back to
    back, gan_lab first in even rounds and plain first in odd ones."""
    for name in cfg.configs:
        if name not in cfg.experiments:
            raise ConfigError(f"configs: {name!r} is not in experiments ({', '.join(cfg.experiments)}).")
    for name in cfg.switches:
        if name not in cfg.switch_overrides:
            raise ConfigError(
                f"switches: {name!r} is not in switch_overrides ({', '.join(cfg.switch_overrides)})."
            )
    paths = list(cfg.paths)
    if paths[:2] != ["gan_lab", "plain"] or not set(paths) <= set(PATHS) or len(set(paths)) != len(paths):
        raise ConfigError(
            f"paths={paths}: measure gan_lab and plain, in that order, and optionally peer: "
            "paths=[gan_lab,plain] or paths=[gan_lab,plain,peer]."
        )
    if cfg.repeats < 1:
        raise ConfigError(f"repeats={cfg.repeats}: measure at least one round.")
    for name in cfg.configs:
        if cfg.experiments[name].warmup < 1 or cfg.experiments[name].steps < 1:
            raise ConfigError(
                f"experiments.{name}: warmup and steps must be at least 1 (the clock starts "
                "at the end of a step)."
            )
    for round_ in range(cfg.repeats):
        for name in cfg.configs:
            experiment = cfg.experiments[name]
            for switch in cfg.switches:
                if switch in experiment.get("skip", []):
                    continue
                overrides = [
                    *experiment.overrides,
                    f"data_dir={cfg.data_dir}",
                    *cfg.common,
                    f"train.steps={experiment.warmup + experiment.steps}",
                ]
                if cfg.batch_size:
                    overrides.append(f"dataset.batch_size={cfg.batch_size}")
                job = {
                    "config": name,
                    "switch": switch,
                    "round": round_,
                    "overrides": overrides,
                    "warmup": experiment.warmup,
                    "steps": experiment.steps,
                    "device": cfg.device,
                    "threads": cfg.threads,
                    "peer_workers": cfg.peer.workers,
                }
                order = paths if round_ % 2 == 0 else paths[::-1]
                for path in order:
                    # The switches are gan_lab's and the plain loop's; the peer keeps its own settings.
                    switched = cfg.peer.overrides if path == "peer" else cfg.switch_overrides[switch]
                    yield {**job, "path": path, "overrides": [*overrides, *switched]}


def bench(cfg: DictConfig, out: Path, command: str) -> tuple[list[dict], list[dict], str]:
    """Run every measurement of `cfg`, write the report into `out`; return (measurements, rows, markdown)."""
    out.mkdir(parents=True, exist_ok=True)
    planned = list(jobs(cfg))
    if not planned:
        raise ConfigError("nothing to measure: every config skips every switch asked for.")
    results = []
    work = out / "measurements"  # each measurement's job, log and result; its run folder unless keep_runs
    work.mkdir(exist_ok=True)
    for i, job in enumerate(planned, 1):
        job["out"] = str(work / f"{job['config']}-{job['switch']}-{job['path']}-{job['round']}")
        result = {**job, **(run_in_child(job, work) if cfg.isolate else measure(job, own_process=False))}
        if not cfg.keep_runs:
            shutil.rmtree(job["out"], ignore_errors=True)
        if not result["trained"]:
            raise RuntimeError(f"bench: {job['path']} left G or D unchanged: it did not train")
        results.append(result)
        log.info(
            "bench %d/%d | %s %s %s round %d | %.1f img/s, %.1f img/CPU-s",
            i, len(planned), job["config"], job["switch"], job["path"], job["round"],
            result["images_per_sec"], result["images_per_cpu_sec"],
        )  # fmt: skip
        if i % len(cfg.paths) == 0:  # a set of paths done: the report so far, for a run stopped early
            rows = summarise(results, cfg.clock)
            machine = describe_machine(_device(cfg.device), [r["threads"] for r in results])
            md = write_report(results, rows, machine, command, out)
    return results, rows, md


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="bench")
def main(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    from gan_lab.training.sweep import job_outcome

    with job_outcome("bench"):
        hydra_cfg = HydraConfig.get()
        command = " ".join([COMMAND, *hydra_cfg.overrides.task])
        out = Path(hydra_cfg.runtime.output_dir)
        _, _, md = bench(cfg, out, command)
        print(md)
        log.info("bench | written to %s (results.md, .csv, .json)", out)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:  # a measuring process (run_in_child): `bench.py --child JOB_FILE`
        child(sys.argv[2])
    else:
        main()
