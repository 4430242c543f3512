"""Download PTB-XL 1.0.3 from PhysioNet (resumable, every file checked against SHA256SUMS.txt).

    python data_scripts/download_ptbxl.py --dest data/ptb-xl --fs 100 --dry-run
    python data_scripts/download_ptbxl.py --dest data/ptb-xl --fs 100

``--fs 100`` fetches the csvs and ``records100/`` (~0.5 GB), ``500`` the csvs and ``records500/``,
``both`` everything (~3 GB). Re-running skips files already present with the right checksum.
"""

from __future__ import annotations

from ecgkd_lite.data.download import download_release, release_parser

BASE_URL = "https://physionet.org/files/ptb-xl/1.0.3/"
RECORD_FOLDERS = {"100": ("records100/",), "500": ("records500/",), "both": ("records100/", "records500/")}


def selector(fs: str):
    """Keep every file outside ``records*/`` plus the record folders of ``fs``."""
    keep = RECORD_FOLDERS[fs]
    return lambda path: not path.startswith("records") or path.startswith(keep)


def main(argv=None) -> None:
    ap = release_parser(__doc__, BASE_URL)
    ap.add_argument("--fs", choices=sorted(RECORD_FOLDERS), default="100", help="which record folders")
    args = ap.parse_args(argv)
    download_release(args.base_url, args.dest, selector(args.fs), dry_run=args.dry_run)


if __name__ == "__main__":
    main()
