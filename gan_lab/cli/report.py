"""`python -m gan_lab.report RUN_OR_SWEEP_DIR... [--out DIR] [--metrics M ...] [--reference LABEL M=V ...]`:
compare finished runs offline. Writes report.md and summary.csv (mean ± standard error, min and max over
seeds, for jobs that differ only in `seed`), jobs.csv (every job, failed ones too) and curves.png (each metric
over training, per job). Each --reference is a published row, printed beside the summary in report.md."""

import argparse
from pathlib import Path

from gan_lab.errors import reported_as_one_line
from gan_lab.studies.compare import parse_reference, write_report

PROGRAM = "gan_lab.report"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {PROGRAM}", description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="run folders, or sweep folders holding them")
    parser.add_argument("--out", type=Path, default=None,
                        help="where the report goes (default: <first folder>/report)")  # fmt: skip
    parser.add_argument("--metrics", nargs="+", default=None,
                        help="final metrics to tabulate (default: every one the runs report)")  # fmt: skip
    parser.add_argument("--reference", nargs="+", action="append", default=[], metavar=("LABEL", "M=MEAN±SE"),
                        help="a published row to print beside the summary, e.g. --reference 'PacGAN GAN row' "
                        "modes_captured=17.3±0.8 kl_modes=0.70±0.07; may be repeated")  # fmt: skip
    args = parser.parse_args(argv)
    out = args.out or args.folders[0] / "report"
    with reported_as_one_line(PROGRAM):
        references = [parse_reference(label, items) for label, *items in args.reference]
        jobs = write_report(args.folders, out, args.metrics, references)
    done = sum(job.status == "done" for job in jobs)
    files = "report.md, summary.csv, jobs.csv, curves.png"
    print(f"{PROGRAM}: {len(jobs)} jobs ({done} finished) -> {out}/: {files}")


if __name__ == "__main__":
    main()
