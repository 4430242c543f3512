"""Download training sets of the PhysioNet/CinC Challenge 2021 (v1.0.3) from PhysioNet.

    python data_scripts/download_challenge2021.py --dest data/challenge2021 --sets georgia ptb --dry-run

Sets live under ``training/<set>/`` in the release; every file is checked against the release's
SHA256SUMS.txt and re-running skips files already present with the right checksum.
"""

from __future__ import annotations

from ecgkd_lite.data.download import download_release, release_parser

BASE_URL = "https://physionet.org/files/challenge-2021/1.0.3/"
SETS = ("cpsc_2018", "cpsc_2018_extra", "georgia", "chapman_shaoxing", "ningbo", "ptb", "ptb-xl")


def selector(sets):
    """Keep the files below ``training/<set>/`` of the chosen sets."""
    prefixes = tuple(f"training/{s}/" for s in sets)
    return lambda path: path.startswith(prefixes)


def main(argv=None) -> None:
    ap = release_parser(__doc__, BASE_URL)
    ap.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS), help="training sets to fetch")
    args = ap.parse_args(argv)
    download_release(args.base_url, args.dest, selector(args.sets), dry_run=args.dry_run)


if __name__ == "__main__":
    main()
