"""The storage interface: files under one root, addressed by keys that cannot escape it."""

from __future__ import annotations

import os
import threading

import pytest

from app.core.storage import InvalidKey, LocalStorage, get_storage


@pytest.fixture
def storage(tmp_path) -> LocalStorage:
    return LocalStorage(tmp_path / "files")


def files_under(root) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(folder, name), root)
        for folder, _, names in os.walk(root)
        for name in names
    )


def test_save_read_exists_delete_round_trip(storage):
    key = "certificates/2026/abc-123.pdf"
    assert not storage.exists(key)

    storage.save(key, b"%PDF-1.7 first")
    assert storage.exists(key)
    assert storage.read(key) == b"%PDF-1.7 first"

    storage.save(key, b"%PDF-1.7 second")
    assert storage.read(key) == b"%PDF-1.7 second"

    storage.delete(key)
    assert not storage.exists(key)
    with pytest.raises(FileNotFoundError):
        storage.read(key)


def test_files_live_under_the_root(storage, tmp_path):
    storage.save("a/b.txt", b"x")

    assert (tmp_path / "files" / "a" / "b.txt").read_bytes() == b"x"
    assert storage.path("a/b.txt") == (tmp_path / "files" / "a" / "b.txt").resolve()


def test_deleting_a_missing_file_is_not_an_error(storage):
    storage.delete("never/saved.txt")

    assert not storage.exists("never/saved.txt")


def test_a_folder_is_not_a_file(storage):
    storage.save("folder/file.txt", b"x")

    assert not storage.exists("folder")


def test_empty_content_is_a_file(storage):
    storage.save("empty.txt", b"")

    assert storage.exists("empty.txt") and storage.read("empty.txt") == b""


def test_save_leaves_no_temporary_file(storage, tmp_path):
    storage.save("uploads/one.png", b"1")
    storage.save("uploads/one.png", b"2")
    storage.save("uploads/two.png", b"3")

    assert files_under(tmp_path / "files") == ["uploads/one.png", "uploads/two.png"]


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temporary_file(
    storage, tmp_path, monkeypatch
):
    storage.save("doc.txt", b"old")

    def broken_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr("app.core.storage.os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        storage.save("doc.txt", b"new")
    monkeypatch.undo()

    assert storage.read("doc.txt") == b"old"
    assert files_under(tmp_path / "files") == ["doc.txt"]


def test_save_new_writes_a_new_file_in_place(storage, tmp_path, monkeypatch):
    """No temporary file and no rename: nobody can be reading a key not yet committed."""
    def no_temporary_file(*args, **kwargs):
        raise AssertionError("save_new made a temporary file")

    monkeypatch.setattr("app.core.storage.tempfile.mkstemp", no_temporary_file)

    storage.save_new("certificates/new.pdf", b"%PDF whole")

    assert storage.read("certificates/new.pdf") == b"%PDF whole"
    assert files_under(tmp_path / "files") == ["certificates/new.pdf"]


def test_save_new_replaces_what_a_crashed_attempt_left(storage, tmp_path):
    storage.path("certificates/x.pdf").parent.mkdir(parents=True)
    storage.path("certificates/x.pdf").write_bytes(b"%PDF half")

    storage.save_new("certificates/x.pdf", b"%PDF whole")

    assert storage.read("certificates/x.pdf") == b"%PDF whole"
    assert files_under(tmp_path / "files") == ["certificates/x.pdf"]


def test_a_failed_save_new_leaves_no_file(storage, tmp_path, monkeypatch):
    class FullDisk:
        def __init__(self, path, mode):
            self.handle = open(path, mode)  # noqa: SIM115

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            self.handle.write(data[:3])
            raise OSError("disk full")

    monkeypatch.setattr("app.core.storage.open", FullDisk, raising=False)

    with pytest.raises(OSError, match="disk full"):
        storage.save_new("certificates/y.pdf", b"%PDF whole")

    assert not storage.exists("certificates/y.pdf")


def test_get_storage_follows_the_configured_root(app, tmp_path):
    with app.app_context():
        first = get_storage()
        assert get_storage() is first  # resolved once
        app.config["STORAGE_DIR"], before = str(tmp_path / "elsewhere"), app.config["STORAGE_DIR"]
        try:
            assert get_storage().root == (tmp_path / "elsewhere").resolve()
        finally:
            app.config["STORAGE_DIR"] = before


def test_readers_never_see_half_a_file(storage):
    """Every read during repeated saves returns one whole version."""
    versions = [bytes([n]) * 200_000 for n in range(1, 6)]
    storage.save("big.bin", versions[0])
    seen, stop = set(), threading.Event()

    def read_repeatedly():
        while not stop.is_set():
            seen.add(storage.read("big.bin"))

    reader = threading.Thread(target=read_repeatedly)
    reader.start()
    try:
        for version in versions * 4:
            storage.save("big.bin", version)
    finally:
        stop.set()
        reader.join()

    assert seen <= set(versions)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "../secret",
        "a/../../secret",
        "..",
        ".",
        "a/./b",
        "/etc/passwd",
        "a//b",
        "a/",
        "/",
        "a\\b",
        "..\\secret",
        "C:\\secret",
        ".hidden",
        "a/.tmp-123",
        "-dash",
        "space here.txt",
        "semi;colon",
        "new\nline",
        "trailing-newline\n",
        "tab\t",
        "nul\x00byte",
        "ünicode.txt",
        "a" * 129,
        "~/x",
        "%2e%2e/x",
    ],
)
def test_unsafe_keys_are_refused(storage, key):
    with pytest.raises(InvalidKey):
        storage.path(key)
    for operation in (storage.read, storage.exists, storage.delete):
        with pytest.raises(InvalidKey):
            operation(key)
    with pytest.raises(InvalidKey):
        storage.save(key, b"x")


def test_a_non_string_key_is_refused(storage):
    with pytest.raises(InvalidKey):
        storage.path(None)


@pytest.mark.parametrize(
    "key", ["a", "report.pdf", "A1/b_2/c-3.d.txt", "x" * 128, "2026/05/04/file..name.txt"]
)
def test_safe_keys_are_accepted(storage, key):
    storage.save(key, b"ok")

    assert storage.read(key) == b"ok"


def test_get_storage_uses_the_configured_folder(app, tmp_path):
    with app.app_context():
        storage = get_storage()

    assert str(storage.root) == os.path.realpath(app.config["STORAGE_DIR"])
    assert "static" not in storage.root.parts
