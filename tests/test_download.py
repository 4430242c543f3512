"""Offline tests of ecgkd_lite.data.download and the download scripts (a loopback HTTP server)."""

from __future__ import annotations

import hashlib
import http.server
import importlib.util
import threading
from pathlib import Path

import pytest

from ecgkd_lite.data.download import (
    ChecksumError,
    DownloadError,
    UnsafePathError,
    download_file,
    download_release,
    download_tree,
    join_url,
    read_sha256sums,
    verify_tree,
)
from ecgkd_lite.errors import MissingFileError, RecordError

REPO = Path(__file__).resolve().parents[1]
PAYLOAD = bytes(range(256)) * 400  # 102400 bytes


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.root``; honours ``Range: bytes=N-`` unless ``server.honour_range`` is False.

    Faults on demand: ``server.cut_body = n`` sends only the first n bytes of a body (then closes);
    ``server.send_length = False`` omits Content-Length (the body ends when the connection closes);
    ``server.range_total = False`` leaves ``Content-Range: bytes */N`` out of a 416.
    """

    def do_HEAD(self):
        self._serve(body=False)

    def do_GET(self):
        self._serve(body=True)

    def _serve(self, body: bool):
        srv = self.server
        srv.log.append((self.command, self.path, self.headers.get("Range")))
        path = srv.root / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start, status = 0, 200
        rng = self.headers.get("Range")
        if rng and srv.honour_range:
            start = int(rng.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self.send_response(416)
                if srv.range_total:
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        self.send_response(status)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        if srv.send_length:
            self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        if body:
            self.wfile.write(data[start:] if srv.cut_body is None else data[start : start + srv.cut_body])

    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "remote"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    httpd.root, httpd.log, httpd.honour_range = root, [], True
    httpd.cut_body, httpd.send_length, httpd.range_total = None, True, True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def _publish(server, files: dict[str, bytes]) -> dict[str, str]:
    """Write ``files`` under the server root plus a SHA256SUMS.txt; return the sums."""
    sums = {}
    for name, data in files.items():
        (server.root / name).parent.mkdir(parents=True, exist_ok=True)
        (server.root / name).write_bytes(data)
        sums[name] = _sha(data)
    (server.root / "SHA256SUMS.txt").write_text("".join(f"{h}  {n}\n" for n, h in sums.items()))
    return sums


def _gets(server, path: str) -> list:
    return [entry for entry in server.log if entry[0] == "GET" and entry[1] == "/" + path]


# ------------------------------------------------------------------------------------ download_file
def test_full_download_is_atomic_and_checked(server, tmp_path):
    _publish(server, {"a.bin": PAYLOAD})
    dest = tmp_path / "local" / "a.bin"
    out = download_file(server.url + "a.bin", dest, sha256=_sha(PAYLOAD), progress=False)
    assert out == dest and dest.read_bytes() == PAYLOAD
    assert not dest.with_name("a.bin.part").exists()


def test_resume_sends_range_and_appends(server, tmp_path):
    _publish(server, {"a.bin": PAYLOAD})
    dest = tmp_path / "a.bin"
    dest.with_name("a.bin.part").write_bytes(PAYLOAD[:30000])
    download_file(server.url + "a.bin", dest, sha256=_sha(PAYLOAD), progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert _gets(server, "a.bin") == [("GET", "/a.bin", "bytes=30000-")]


def test_resume_restarts_when_server_ignores_range(server, tmp_path):
    _publish(server, {"a.bin": PAYLOAD})
    server.honour_range = False
    dest = tmp_path / "a.bin"
    dest.with_name("a.bin.part").write_bytes(b"x" * 500)  # garbage that must not survive
    download_file(server.url + "a.bin", dest, sha256=_sha(PAYLOAD), progress=False)
    assert dest.read_bytes() == PAYLOAD


def test_complete_partial_file_gets_416_and_is_accepted(server, tmp_path):
    _publish(server, {"a.bin": PAYLOAD})
    dest = tmp_path / "a.bin"
    dest.with_name("a.bin.part").write_bytes(PAYLOAD)
    download_file(server.url + "a.bin", dest, sha256=_sha(PAYLOAD), progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert _gets(server, "a.bin") == [("GET", "/a.bin", f"bytes={len(PAYLOAD)}-")]  # not fetched again


@pytest.mark.parametrize("range_total", [True, False])
def test_416_with_an_overlong_partial_file_is_never_accepted(server, tmp_path, range_total):
    """Without a checksum, a partial file longer than the remote one (416) is fetched again, whether
    or not the 416 says the remote size; with an unknown remote size it is fetched again too."""
    _publish(server, {"a.bin": PAYLOAD})
    server.range_total = range_total
    dest = tmp_path / "a.bin"
    dest.with_name("a.bin.part").write_bytes(b"x" * (len(PAYLOAD) + 10))
    download_file(server.url + "a.bin", dest, progress=False)
    assert dest.read_bytes() == PAYLOAD
    dest.unlink()
    # the remote size: without a checksum only the size can be checked, so a 416 that confirms it
    # completes the file; without Content-Range the remote size is unknown and the file is fetched again
    dest.with_name("a.bin.part").write_bytes(b"y" * len(PAYLOAD))
    download_file(server.url + "a.bin", dest, progress=False)
    assert dest.read_bytes() == (b"y" * len(PAYLOAD) if range_total else PAYLOAD)


def test_connection_lost_mid_body_is_a_resumable_download_error(tmp_path, monkeypatch):
    import http.client
    import io
    import urllib.request

    class Broken(io.BytesIO):
        status, headers = 200, {"Content-Length": "1000"}

        def read(self, n=-1):
            if self.tell() >= 100:
                raise http.client.IncompleteRead(b"", 900)
            return super().read(min(n, 100))

    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: Broken(b"z" * 1000))
    dest = tmp_path / "a.bin"
    with pytest.raises(DownloadError, match=r"transfer broke off after 100 bytes \(IncompleteRead"):
        download_file("http://example.invalid/a.bin", dest, progress=False)
    assert not dest.exists() and dest.with_name("a.bin.part").stat().st_size == 100


def test_short_body_is_never_saved_as_complete(server, tmp_path):
    """A body cut short (Content-Length says more) keeps the partial file for a resume, with or
    without a checksum; the next run resumes at the cut and completes."""
    _publish(server, {"a.bin": PAYLOAD})
    dest = tmp_path / "a.bin"
    server.cut_body = 30000
    with pytest.raises(DownloadError, match=r"a\.bin: got 30000 bytes, the response's length is 102400; run again"):
        download_file(server.url + "a.bin", dest, progress=False)
    assert not dest.exists() and dest.with_name("a.bin.part").stat().st_size == 30000
    server.cut_body = None
    download_file(server.url + "a.bin", dest, sha256=_sha(PAYLOAD), progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert _gets(server, "a.bin")[-1] == ("GET", "/a.bin", "bytes=30000-")


def test_short_body_without_length_is_caught_by_size_or_checksum(server, tmp_path):
    """No Content-Length (the body ends with the connection): the expected size (from the plan) or
    the checksum catches a cut body; the file is never renamed into place."""
    _publish(server, {"a.bin": PAYLOAD})
    server.send_length, server.cut_body = False, 5000
    dest = tmp_path / "a.bin"
    with pytest.raises(DownloadError, match="got 5000 bytes, the expected size is 102400"):
        download_file(server.url + "a.bin", dest, size=len(PAYLOAD), progress=False)
    assert not dest.exists()
    dest.with_name("a.bin.part").unlink()
    with pytest.raises(ChecksumError, match="a.bin: downloaded from .*partial file removed"):
        download_file(server.url + "a.bin", dest, sha256=_sha(PAYLOAD), progress=False)
    assert not dest.exists() and not dest.with_name("a.bin.part").exists()
    server.cut_body = None
    with pytest.raises(DownloadError, match="got 102400 bytes, the expected size is 100; partial file removed"):
        download_file(server.url + "a.bin", dest, size=100, progress=False)
    assert not dest.exists() and not dest.with_name("a.bin.part").exists()


def test_checksum_mismatch_names_file_and_removes_partial(server, tmp_path):
    _publish(server, {"a.bin": PAYLOAD})
    dest = tmp_path / "a.bin"
    with pytest.raises(ChecksumError, match="a.bin.*sha256 is") as err:
        download_file(server.url + "a.bin", dest, sha256="0" * 64, progress=False)
    assert err.value.record == str(dest)
    assert not dest.exists() and not dest.with_name("a.bin.part").exists()


def test_http_error_names_url(server, tmp_path):
    with pytest.raises(DownloadError, match=r"missing\.bin: HTTP 404"):
        download_file(server.url + "missing.bin", tmp_path / "m.bin", progress=False)


def test_file_url(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(PAYLOAD)
    dest = tmp_path / "out" / "src.bin"
    dest.parent.mkdir()
    dest.with_name("src.bin.part").write_bytes(PAYLOAD[:100])  # file:// ignores Range: restart
    download_file(src.as_uri(), dest, sha256=_sha(PAYLOAD), progress=False)
    assert dest.read_bytes() == PAYLOAD


# ------------------------------------------------------------------------------------ checksums
def test_read_sha256sums_and_verify_tree(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.txt").write_bytes(b"hello")
    (tmp_path / "SUMS").write_text(f"{_sha(b'hello')}  d/x.txt\n{_sha(b'bye')} *y.txt\n\n")
    sums = read_sha256sums(tmp_path / "SUMS")
    assert sums == {"d/x.txt": _sha(b"hello"), "y.txt": _sha(b"bye")}
    assert verify_tree(tmp_path, sums, ["d/x.txt"]) == 1
    with pytest.raises(MissingFileError, match="^y.txt: "):
        verify_tree(tmp_path, sums)
    with pytest.raises(RecordError, match="^z.txt: is not listed"):
        verify_tree(tmp_path, sums, ["z.txt"])
    (tmp_path / "d" / "x.txt").write_bytes(b"hellO")
    with pytest.raises(ChecksumError, match="^d/x.txt: sha256 is"):
        verify_tree(tmp_path, sums, ["d/x.txt"])
    (tmp_path / "BAD").write_text("not a checksum line\n")
    with pytest.raises(RecordError, match="BAD: line 1 is not"):
        read_sha256sums(tmp_path / "BAD")


# ------------------------------------------------------------------------------------ trees
def test_download_tree_skips_present_files_and_prints_plan(server, tmp_path):
    files = {"r/a.dat": PAYLOAD, "r/b.dat": PAYLOAD[:1000], "c.csv": b"id\n1\n"}
    sums = _publish(server, files)
    dest = tmp_path / "local"
    (dest / "r").mkdir(parents=True)
    (dest / "r" / "a.dat").write_bytes(PAYLOAD)  # present and correct: skipped
    (dest / "c.csv").write_bytes(b"stale")  # present but wrong: fetched again
    lines = []
    plan = download_tree(server.url, list(files), dest, sums=sums, progress=False, echo=lines.append)
    assert plan.present == ["r/a.dat"] and sorted(plan.to_fetch) == ["c.csv", "r/b.dat"]
    assert lines == ["plan: 2 files to download, 1 already present (checksum ok), 0.0 MB"]
    assert plan.total_bytes == 1000 + 5
    assert not _gets(server, "r/a.dat")
    assert all((dest / n).read_bytes() == d for n, d in files.items())


def test_download_tree_dry_run_writes_nothing(server, tmp_path):
    sums = _publish(server, {"a.bin": PAYLOAD, "b.bin": PAYLOAD[:2_000]})
    lines = []
    plan = download_tree(server.url, list(sums), tmp_path / "local", sums=sums, dry_run=True, echo=lines.append)
    assert lines == ["plan: 2 files to download, 0 already present (checksum ok), 0.1 MB"]
    assert plan.total_bytes == len(PAYLOAD) + 2000 and plan.unknown_sizes == 0
    assert not (tmp_path / "local").exists()
    assert not [e for e in server.log if e[0] == "GET"]


@pytest.mark.parametrize("bad", ["../outside.bin", "/tmp/abs.bin", "r/../../up.bin", "C:/win.bin"])
def test_manifest_paths_outside_dest_are_refused_before_anything_is_fetched(server, tmp_path, bad):
    _publish(server, {"r/a.bin": PAYLOAD[:100]})
    with open(server.root / "SHA256SUMS.txt", "a") as fh:
        fh.write(f"{_sha(b'evil')}  {bad}\n")
    dest = tmp_path / "local"
    with pytest.raises(
        UnsafePathError,
        match=rf"SHA256SUMS.txt line 2: path '{bad}' (is absolute|has a '\.\.' "
        "component): it would be written outside",
    ):
        download_release(server.url, dest, lambda f: True, echo=lambda *a: None, progress=False)
    assert [e[1] for e in server.log] == ["/SHA256SUMS.txt"] and not dest.exists()
    with pytest.raises(UnsafePathError, match="line 2"):
        read_sha256sums(server.root / "SHA256SUMS.txt")


def test_symlink_below_dest_pointing_outside_is_refused(server, tmp_path):
    _publish(server, {"r/a.bin": PAYLOAD[:100]})
    dest, elsewhere = tmp_path / "local", tmp_path / "elsewhere"
    dest.mkdir()
    elsewhere.mkdir()
    (dest / "r").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(UnsafePathError, match=r"^r/a\.bin: resolves to .*elsewhere.*outside the destination"):
        download_release(server.url, dest, lambda f: True, echo=lambda *a: None, progress=False)
    assert not list(elsewhere.iterdir()) and not (dest / "SHA256SUMS.txt").exists()
    assert [e[1] for e in server.log] == ["/SHA256SUMS.txt"]


def test_join_url_quotes_paths():
    assert join_url("https://h/x/", "a b/c.hea") == "https://h/x/a%20b/c.hea"


# ------------------------------------------------------------------------------------ scripts
def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "data_scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_download_ptbxl_script_dry_run_and_run(server, tmp_path, capsys):
    files = {
        "ptbxl_database.csv": b"ecg_id\n1\n",
        "scp_statements.csv": b"x\n",
        "records100/00000/00001_lr.dat": PAYLOAD[:2000],
        "records500/00000/00001_hr.dat": PAYLOAD,
    }
    _publish(server, files)
    script = _script("download_ptbxl")
    dest = tmp_path / "ptbxl"
    script.main(["--dest", str(dest), "--base-url", server.url, "--fs", "100", "--dry-run"])
    out = capsys.readouterr().out
    assert "3 of 4 files in SHA256SUMS.txt selected" in out
    assert "plan: 3 files to download, 0 already present (checksum ok), 0.0 MB" in out
    assert not dest.exists()
    script.main(["--dest", str(dest), "--base-url", server.url, "--fs", "100"])
    assert (dest / "records100/00000/00001_lr.dat").read_bytes() == PAYLOAD[:2000]
    assert (dest / "SHA256SUMS.txt").exists() and not (dest / "records500").exists()
    script.main(["--dest", str(dest), "--base-url", server.url, "--fs", "100"])
    assert "plan: 0 files to download, 3 already present" in capsys.readouterr().out


def test_download_challenge_script_selects_sets(server, tmp_path, capsys):
    files = {
        "training/georgia/g1/E00001.hea": b"h",
        "training/georgia/g1/E00001.mat": b"m",
        "training/ptb/g1/S0001.hea": b"h2",
        "training/ningbo/g1/JS10647.hea": b"h3",
    }
    _publish(server, files)
    dest = tmp_path / "c21"
    _script("download_challenge2021").main(["--dest", str(dest), "--base-url", server.url, "--sets", "georgia", "ptb"])
    assert "3 of 4 files in SHA256SUMS.txt selected" in capsys.readouterr().out
    got = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*.*") if p.name != "SHA256SUMS.txt")
    assert got == ["training/georgia/g1/E00001.hea", "training/georgia/g1/E00001.mat", "training/ptb/g1/S0001.hea"]


def test_prepare_script_parses_into_cache(challenge_root, capsys):
    script = _script("prepare")
    script.main(["challenge", str(challenge_root), "--dry-run"])
    assert "would parse" in capsys.readouterr().out
    script.main(["challenge", str(challenge_root), "--seconds", "10"])
    out = capsys.readouterr().out
    assert "ECGData(source='challenge', records=28, leads=12, samples=5000 @ 500 Hz, classes=35)" in out
    from ecgkd_lite.config import cache_dir

    assert list(cache_dir("datasets").glob("challenge-*.npz"))
