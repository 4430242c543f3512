"""Build ``ecgkd_lite/data/tables/snomed_ct.csv`` from the Challenge 2020 label tables.

Input: ``labels_scored.csv`` and ``labels_unscored.csv`` of the PhysioNet/CinC Challenge 2020
(columns ``Dx``, ``SNOMED CT Code``, ``Abbreviation``). Output columns:
``code, abbreviation, name, scored, equivalent_to``. ``equivalent_to`` holds the code a code is
scored as (the Challenge's equivalence pairs, :data:`EQUIVALENT`), empty otherwise. The Challenge
2021 added complete LBBB (733534002, scored as LBBB), which the 2020 tables lack; it is added here.

    python data_scripts/build_snomed_table.py --labels-dir ../shared/data/cinc2020-sample
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "ecgkd_lite" / "data" / "tables" / "snomed_ct.csv"
#: code -> the code it is scored as (Challenge 2020/2021 "scored as the same diagnosis")
EQUIVALENT = {"713427006": "59118001", "63593006": "284470004", "17338001": "427172004", "733534002": "164909002"}
#: rows the 2020 tables lack: (code, abbreviation, name, scored)
ADDED_2021 = [("733534002", "CLBBB", "complete left bundle branch block", True)]


def build(labels_dir: Path) -> pd.DataFrame:
    frames = []
    for fname, scored in (("labels_scored.csv", True), ("labels_unscored.csv", False)):
        raw = pd.read_csv(labels_dir / fname, dtype=str)
        frames.append(
            pd.DataFrame(
                {
                    "code": raw["SNOMED CT Code"].str.strip(),
                    "abbreviation": raw["Abbreviation"].str.strip(),
                    "name": raw["Dx"].str.strip(),
                    "scored": scored,
                }
            )
        )
    frames.append(pd.DataFrame(ADDED_2021, columns=["code", "abbreviation", "name", "scored"]))
    table = pd.concat(frames, ignore_index=True)
    if table["code"].duplicated().any():
        raise SystemExit(f"duplicate codes: {table.loc[table['code'].duplicated(), 'code'].tolist()}")
    table["equivalent_to"] = table["code"].map(EQUIVALENT).fillna("")
    return table.sort_values("code", key=lambda c: c.astype(int)).reset_index(drop=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--labels-dir", type=Path, required=True, help="folder with labels_scored.csv / labels_unscored.csv"
    )
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    table = build(args.labels_dir)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(f"wrote {len(table)} codes ({int(table['scored'].sum())} scored) to {args.out}")


if __name__ == "__main__":
    main()
