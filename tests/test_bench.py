"""`python benchmarks/bench.py`: both paths train the same networks, the table holds what was measured."""

import csv
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import open_dict

from gan_lab.errors import ConfigError
from gan_lab.paths import config_dir

# The benchmark is a script beside the package, not part of it: imported from its file.
SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"
_spec = importlib.util.spec_from_file_location("bench", SCRIPT)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

# A few steps of small networks on a small batch: the real code paths, a fraction of the work.
TINY_MLP = ["experiment=quickstart", "dataset.num_samples=512", "dataset.batch_size=16"]
TINY_DCGAN = ["experiment=dcgan_mnist", "dataset.download=false", "dataset.batch_size=8",
              "dataset.num_workers=0", "system.nets.ngf=8", "system.nets.ndf=8"]  # fmt: skip
COMMON = ["samples.every=null", "checkpoint.every=null", "eval.every=null", "metrics=none"]


def job(tmp_path, overrides: list[str], path: str, warmup: int = 1, steps: int = 3) -> dict:
    return {"config": "tiny", "switch": "baseline", "round": 0, "path": path, "device": "cpu", "threads": 1,
            "overrides": [*overrides, *COMMON, f"train.steps={warmup + steps}"], "warmup": warmup,
            "steps": steps, "out": str(tmp_path / path)}  # fmt: skip


def both_paths(tmp_path, overrides: list[str]) -> dict[str, dict]:
    return {
        path: bench.measure(job(tmp_path, overrides, path), own_process=False)
        for path in ("gan_lab", "plain")
    }


def check_same_networks_both_trained(results: dict[str, dict], images: int) -> None:
    ours, plain = results["gan_lab"], results["plain"]
    # The plain loop trains gan_lab's own G and D: same layers, same initial weights...
    assert ours["start"] == plain["start"]
    assert ours["start"]["params_g"] > 0 and ours["start"]["params_d"] > 0
    for result in (ours, plain):
        assert result["trained"]  # ...and each path changed both networks' weights
        assert result["images"] == images
        assert result["images_per_sec"] == pytest.approx(result["images"] / result["seconds"])
        assert result["images_per_cpu_sec"] > 0 and result["peak_rss_mib"] is None  # shared process


def test_both_paths_train_the_same_mlp_gan(tmp_path):
    check_same_networks_both_trained(both_paths(tmp_path, TINY_MLP), images=3 * 16)


@pytest.mark.parametrize("switch", [[], ["trainer.precision=bf16-mixed"]], ids=["fp32", "bf16"])
def test_both_paths_train_the_same_dcgan(tmp_path, mnist_idx, switch):
    overrides = [*TINY_DCGAN, f"dataset.root={mnist_idx}", *switch]
    check_same_networks_both_trained(both_paths(tmp_path, overrides), images=3 * 8)


TINY_FACES = ["experiment=dcgan_anime_classic", "dataset.batch_size=8", "dataset.num_workers=0",
              "system.nets.ngf=8", "system.nets.ndf=8"]  # fmt: skip


def test_peer_path_decodes_the_image_folder_and_trains_the_same_networks(tmp_path, faces):
    """The pytorch/examples-style pipeline: its own loader over the folder (24 images, batch 8: 3 batches an
    epoch, so 5 steps cross into a second epoch), fp32 and NCHW whatever the switch, gan_lab's G and D."""
    overrides = [*TINY_FACES, f"dataset.root={faces}"]
    ours = bench.measure(job(tmp_path, overrides, "gan_lab"), own_process=False)
    fixed = ["train.channels_last=false", "train.compile=false", "trainer.precision=32"]  # the peer's own
    peer_job = {**job(tmp_path, [*overrides, *fixed], "peer", warmup=1, steps=5), "peer_workers": 0}
    peer = bench.measure(peer_job, own_process=False)
    # The same initial weights (NCHW here, NHWC there: the fingerprint's sum runs in another order).
    assert peer["start"] == pytest.approx(ours["start"], rel=1e-12) and peer["trained"]
    assert peer["images"] == 5 * 8
    folder = tmp_path / "peer" / "peer_image_folder"
    assert (folder / "images").resolve() == faces.resolve()  # ImageFolder's one class: the images
    with pytest.raises(ConfigError, match="folder of image files"):
        bench.measure_peer(bench.compose_train(["experiment=quickstart"]), 1, 1, torch.device("cpu"))


def test_peer_transform_is_the_examples_resize_crop_and_scale_to_minus_one_one(faces):
    from PIL import Image

    image = Image.open(next(faces.glob("*.jpg"))).convert("RGB").resize((80, 64))
    x = bench.peer_transform(32)(image)
    assert x.shape == (3, 32, 32) and -1 <= x.min() < x.max() <= 1


def test_plain_loop_holds_the_whole_training_set(tmp_path, mnist_idx):
    cfg = bench.compose_train([*TINY_DCGAN, f"dataset.root={mnist_idx}", *COMMON])
    from hydra.utils import instantiate

    datamodule = instantiate(cfg.dataset)
    datamodule.setup("fit")
    samples, labels = bench.in_memory(datamodule.train_set, workers=0)
    assert samples.shape == (64, 1, 28, 28) and labels.shape == (64,)
    assert torch.equal(samples[5], datamodule.train_set[5][0]) and -1 <= samples.min() < samples.max() <= 1


def results_of(rounds: dict[tuple[str, str], list[tuple[float, float]]]) -> list[dict]:
    """Measurements of (config, switch): one (gan_lab, plain[, peer]) img/s tuple per round."""
    out = []
    for (config, switch), pairs in rounds.items():
        for i, pair in enumerate(pairs):
            for path, value in zip(bench.PATHS, pair, strict=False):
                out.append({"config": config, "switch": switch, "round": i, "path": path,
                            "images_per_sec": value, "images_per_cpu_sec": value / 2, "peak_rss_mib": 100.0,
                            "warmup_s": 1.0, "threads": 1})  # fmt: skip
    return out


def test_summary_ratio_is_the_two_medians_and_switch_effect_is_against_baseline():
    rows = bench.summarise(
        results_of({("mlp", "baseline"): [(90, 100), (80, 100), (95, 110)], ("mlp", "bf16"): [(180, 200)]})
    )
    base, bf16 = rows
    assert base["gan_lab_img_s"] == 90 and base["plain_img_s"] == 100 and base["ratio"] == pytest.approx(0.9)
    assert (base["ratio_min"], base["ratio_max"]) == pytest.approx((0.8, 0.9)) and base["rounds"] == 3
    assert base["vs_baseline"] == 1 and bf16["vs_baseline"] == pytest.approx(2.0)
    assert base["ratio_other_clock"] == pytest.approx(0.9)  # the CPU-time figures here are half of each
    by_cpu = bench.summarise(results_of({("mlp", "baseline"): [(90, 100)]}), clock="cpu")[0]
    assert by_cpu["gan_lab_img_s"] == 45 and by_cpu["ratio"] == pytest.approx(0.9)
    table = bench.markdown_table(rows)
    assert "| mlp | baseline | 90 | 100 | **0.900** | 0.800–0.900 (3) |" in table
    assert "| mlp | bf16 | 180 | 200 | **0.900** |" in table and "x2.00" in table


def test_summary_with_the_peer_gives_gan_labs_ratio_to_it_per_round_too():
    rows = bench.summarise(results_of({("anime", "gpu_best"): [(1000, 1020, 100), (900, 950, 200)]}))
    row = rows[0]
    assert row["peer_img_s"] == 150 and row["ratio_peer"] == pytest.approx(950 / 150)
    assert (row["ratio_peer_min"], row["ratio_peer_max"]) == pytest.approx((4.5, 10.0))
    assert row["ratio"] == pytest.approx(950 / 985)  # against the plain loop, as without the peer
    table = bench.markdown_table(rows)
    assert "| gan_lab/peer |" in table and "| 150 | **6.33** | 4.50–10.00 |" in table
    assert "peak RSS MiB gan_lab / plain / peer" in table
    assert "peer" not in bench.markdown_table(bench.summarise(results_of({("m", "baseline"): [(9, 10)]})))


def bench_config(overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        return compose("bench", overrides=overrides)


def test_jobs_alternate_the_paths_and_skip_what_a_config_cannot_run():
    cfg = bench_config(["configs=[dcgan_mnist,mlp_gan]", "switches=[baseline,nchw]", "repeats=2"])
    planned = list(bench.jobs(cfg))
    assert [(j["config"], j["switch"], j["path"]) for j in planned[:4]] == [
        ("dcgan_mnist", "baseline", "gan_lab"), ("dcgan_mnist", "baseline", "plain"),
        ("dcgan_mnist", "nchw", "gan_lab"), ("dcgan_mnist", "nchw", "plain"),
    ]  # fmt: skip
    assert ("mlp_gan", "nchw") not in {(j["config"], j["switch"]) for j in planned}  # not images
    second = [j for j in planned if j["round"] == 1]
    assert second[0]["path"] == "plain" and second[1]["path"] == "gan_lab"  # B first in odd rounds
    assert "train.channels_last=false" in planned[2]["overrides"]
    with pytest.raises(ConfigError, match="nope"):
        list(bench.jobs(bench_config(["switches=[nope]"])))
    with pytest.raises(ConfigError, match="paths=\\[gan_lab,plain,peer\\]"):
        list(bench.jobs(bench_config(["paths=[plain,peer]"])))
    three = list(bench.jobs(bench_config(["configs=[dcgan_anime]", "switches=[gpu_best]", "repeats=2",
                                           "paths=[gan_lab,plain,peer]"])))  # fmt: skip
    assert [j["path"] for j in three] == ["gan_lab", "plain", "peer", "peer", "plain", "gan_lab"]
    peer, ours = three[2], three[0]
    assert "train.compile=true" in ours["overrides"] and "trainer.precision=bf16-mixed" in ours["overrides"]
    assert "train.compile=true" not in peer["overrides"] and "trainer.precision=32" in peer["overrides"]
    assert peer["peer_workers"] == 2
    with open_dict(cfg):
        cfg.experiments.mlp_gan.warmup = 0
    with pytest.raises(ConfigError, match="at least 1"):
        list(bench.jobs(cfg))


TINY_BENCH = ["configs=[mlp_gan]", "switches=[baseline]", "repeats=1", "threads=1", "device=cpu",
              f"experiments.mlp_gan.overrides=[{','.join(repr(o) for o in TINY_MLP)}]",
              "experiments.mlp_gan.warmup=1", "experiments.mlp_gan.steps=3"]  # fmt: skip


def check_report(out, own_processes: bool) -> None:
    table = (out / "results.md").read_text()
    assert "| mlp_gan | baseline |" in table and "torch:" in table and "python benchmarks/bench.py" in table
    report = json.loads((out / "results.json").read_text())
    ours, plain = sorted(report["measurements"], key=lambda r: r["path"])
    assert (ours["path"], plain["path"]) == ("gan_lab", "plain")
    row = report["summary"][0]
    assert row["ratio"] == pytest.approx(ours["images_per_sec"] / plain["images_per_sec"])
    assert f"**{row['ratio']:.3f}**" in table
    assert ours["start"] == plain["start"] and ours["trained"] and plain["trained"]
    assert (ours["peak_rss_mib"] is not None) == own_processes == (plain["peak_rss_mib"] is not None)
    with open(out / "results.csv") as f:
        assert len(list(csv.DictReader(f))) == 2
    assert not (out / "measurements" / ours["out"]).exists()  # run folders go, unless keep_runs=true


def test_harness_end_to_end_writes_its_table(tmp_path):
    out = tmp_path / "bench"
    results, rows, md = bench.bench(bench_config([*TINY_BENCH, "isolate=false"]), out, bench.COMMAND)
    assert len(results) == 2 and len(rows) == 1 and md == (out / "results.md").read_text()
    check_report(out, own_processes=False)


def test_the_command_measures_each_path_in_a_process_of_its_own(tmp_path):
    """`python benchmarks/bench.py` as anyone runs it (here from another folder): each measurement in a fresh
    process of its own (the script again, `--child JOB`), with its peak RSS."""
    out = tmp_path / "bench"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HYDRA_FULL_ERROR": "0"}
    done = subprocess.run([sys.executable, str(SCRIPT), *TINY_BENCH, f"hydra.run.dir={out}"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    check_report(out, own_processes=True)
    logs = sorted((out / "measurements").glob("*.log"))
    assert len(logs) == 2  # one measuring process per path
