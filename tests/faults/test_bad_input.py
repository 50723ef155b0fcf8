"""Bad input as a new user gives it: each case is one line naming the file or key and the fix, before any
training, from every command that reads a checkpoint (they all read it in one place, gan_lab.systems)."""

from pathlib import Path

import pytest
import torch
from conftest import TINY, cli, compose_run, train

from gan_lab.config import validate
from gan_lab.config.validate import check_devices
from gan_lab.errors import ConfigError
from gan_lab.systems import read_checkpoint


@pytest.fixture(scope="module")
def last_ckpt(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    train(["experiment=quickstart", *TINY, "eval.every=null", "metrics=none"], out)
    return out / "checkpoints" / "last.ckpt"


@pytest.fixture(scope="module")
def bad_files(last_ckpt, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    truncated = folder / "truncated.ckpt"
    truncated.write_bytes(last_ckpt.read_bytes()[:20_000])
    text = folder / "notes.txt"
    text.write_text("not a checkpoint\n" * 50)
    return {"truncated": truncated, "text": text}


@pytest.mark.parametrize("kind", ["truncated", "text"])
def test_a_file_that_is_no_checkpoint_is_refused_in_one_line(bad_files, kind):
    with pytest.raises(
        ConfigError, match=r"is not a readable checkpoint .*Pass a run's checkpoints/last.ckpt"
    ):
        read_checkpoint(bad_files[kind], key="ckpt_path")


@pytest.mark.parametrize(
    ("module", "key", "kind"),
    [("gan_lab", "ckpt_path", "truncated"), ("gan_lab", "ckpt_path", "text"),
     ("gan_lab.cli.evaluate", "ckpt", "text")],
)  # fmt: skip
def test_commands_say_it_in_one_line(bad_files, tmp_path, module, key, kind):
    args = [f"{key}={bad_files[kind]}"]
    if module == "gan_lab":
        args += ["experiment=quickstart", "train.steps=3", f"hydra.run.dir={tmp_path / 'run'}"]
    done = cli(args, cwd=tmp_path, module=module, timeout=120)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    program = "gan_lab.cli.evaluate" if module.endswith("evaluate") else "gan_lab"
    assert last.startswith(f"{program}: error: {key}='{bad_files[kind]}' is not a readable checkpoint"), last
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "run" / "checkpoints" / "last.ckpt").exists()  # refused before any training


def test_a_checkpoint_of_the_older_layout_is_refused_naming_its_version(last_ckpt, tmp_path):
    old = torch.load(last_ckpt, weights_only=True)
    del old["system"]  # what gan_lab 0.1 wrote: no system section
    path = tmp_path / "old.ckpt"
    torch.save(old, path)
    with pytest.raises(ConfigError, match=r"written by an older gan_lab \(0.1, before systems\)"):
        read_checkpoint(path)


@pytest.mark.skipif(torch.cuda.is_available(), reason="the case is a machine without GPUs")
def test_ddp_on_a_machine_without_gpus_points_to_ddp_cpu(tmp_path):
    with pytest.raises(
        ConfigError, match=r"^trainer.accelerator=gpu: this machine has no GPU.*trainer=ddp_cpu"
    ):
        check_devices(compose_run(["trainer=ddp"], tmp_path))


@pytest.mark.skipif(torch.cuda.is_available(), reason="the case is a CPU-only machine")
@pytest.mark.parametrize("native_bf16", [True, False], ids=["bf16-cpu", "avx2-cpu"])
def test_fp16_mixed_precision_on_a_cpu_is_refused_naming_what_works(
    tmp_path, monkeypatch, caplog, native_bf16
):
    monkeypatch.setattr(validate, "cpu_has_bf16", lambda: native_bf16)
    works = "bf16-mixed or 32" if native_bf16 else r"32\.$"
    with pytest.raises(ConfigError, match=rf"^trainer.precision=16-mixed needs a GPU.*{works}"):
        check_devices(compose_run(["trainer.precision=16-mixed"], tmp_path))
    check_devices(compose_run(["trainer.precision=bf16-mixed"], tmp_path))  # it runs either way
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    if native_bf16:
        assert not warned
    else:  # but emulated bf16 is slow enough to say so before the run starts
        assert len(warned) == 1 and "has no bf16 instructions" in warned[0]
        assert warned[0].endswith("Use trainer.precision=32 here.")


@pytest.mark.skipif(torch.cuda.is_available(), reason="the case is a machine without GPUs")
def test_ddp_without_gpus_from_the_command_line_is_one_line(tmp_path):
    done = cli(["trainer=ddp", "train.steps=3", f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1].startswith("gan_lab: error: trainer.accelerator=gpu")
    assert "Traceback" not in done.stderr and "MisconfigurationException" not in done.stderr
