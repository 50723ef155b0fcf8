"""Tabulate the `gan_lab.cli.evaluate` records of the README's trajectory: FID and KID of the dcgan_mnist
generator at each step, in the classifier space before and after the fix, into trajectory.csv (and print a
Markdown table).

    python experiments/classifier_space_mnist/trajectory.py runs/classifier_space_mnist
"""

import csv
import json
import sys
from pathlib import Path

runs = Path(sys.argv[1])
rows = [("initial G (source=initial)", "step_50.eval-initial.json")]
rows += [(f"step {s}", f"step_{s}.eval.json") for s in (50, 100, 200, 300, 500, 1000, 3000)]
rows += [("real test images (source=test_split)", "step_50.eval-test_split.json")]
table = []
for label, name in rows:
    record = {"scored": label}
    for when in ("before", "after"):
        metrics = json.loads((runs / f"eval_{when}" / name).read_text())["metrics"]
        record |= {
            f"fid_{when}": metrics["fid_classifier"],
            f"kid_{when}": metrics["kid_classifier"],
            f"kid_std_{when}": metrics["kid_classifier_std"],
        }
    table.append(record)
out = Path(__file__).resolve().parent / "trajectory.csv"
with open(out, "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=list(table[0]))
    writer.writeheader()
    writer.writerows(table)
print("| scored | FID before | KID before | FID after | KID after (± std over subsets) |")
print("| --- | --- | --- | --- | --- |")
for r in table:
    print(
        f"| {r['scored']} | {r['fid_before']:,.1f} | {r['kid_before']:,.0f} | {r['fid_after']:.2f} | "
        f"{r['kid_after']:.3f} ± {r['kid_std_after']:.3f} |"
    )
print(f"-> {out}")
