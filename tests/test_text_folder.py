"""``text_folder``: a user's corpus as lm domains (byte-level), errors, store key, schemes."""

from __future__ import annotations

import shutil
import zipfile

import numpy as np
import pytest

import workbench as wb
from workbench.cli import main
from workbench.data.text_folder import decode_bytes, example_params, write_example

SMALL_MODEL = {"d_model": 16, "n_layers": 1, "n_heads": 2}


def corpus(tmp_path, name="corpus"):
    """Two file domains and one sub-folder domain of two files (one with multi-byte UTF-8)."""
    root = tmp_path / name
    (root / "notes").mkdir(parents=True)
    (root / "prose.txt").write_text("The quick brown fox jumps over the lazy dog. " * 30)
    (root / "code.py").write_text("def add(a, b):\n    return a + b\n" * 40)
    (root / "notes" / "a.md").write_text("Grüße aus Köln, ½ € für café. " * 20)
    (root / "notes" / "b.md").write_text("# Title\n- item one\n- item two\n" * 20)
    (root / ".hidden").write_text("never read")
    return root


def load(path, seed=0, **params):
    return wb.DATASETS.create("text_folder", path=str(path), seq_len=16, **params).load(seed)


def error(path, **params) -> str:
    with pytest.raises(ValueError) as err:
        load(path, **params)
    return str(err.value)


def test_domains_windows_bytes_and_splits(tmp_path):
    root = corpus(tmp_path)
    b = load(root)
    assert b.task == "lm" and b.group_names == ["code", "notes", "prose"]
    assert b.extra["vocab_size"] == 256 and b.class_names == []
    notes = (root / "notes" / "a.md").read_bytes() + b"\n" + (root / "notes" / "b.md").read_bytes()
    assert b.extra["domain_bytes"]["notes"] == len(notes)
    for k, name in enumerate(b.group_names):
        n = b.extra["domain_windows"][name]
        assert n == b.extra["domain_bytes"][name] // 17
        assert sum(int((getattr(b, s).g == k).sum()) for s in ("train", "val", "test")) == n
    for s in ("train", "val", "test"):
        split = getattr(b, s)
        assert split.X.dtype == split.y.dtype == np.int64 and split.X.shape[1] == 16
        np.testing.assert_array_equal(split.X[:, 1:], split.y[:, :-1])
        assert set(np.unique(split.g)) == {0, 1, 2}
    # window i of a domain is bytes [17 i, 17 i + 17) of its text: ids say which
    notes_train = b.train.X[b.train.g == 1]
    first_id = b.train.ids[b.train.g == 1][0] - b.extra["domain_windows"]["code"]
    assert bytes(notes_train[0].tolist()) == notes[17 * first_id:17 * first_id + 16]
    assert b.train.X.max() > 127  # multi-byte UTF-8 bytes are tokens too
    assert "ü" in decode_bytes(np.concatenate([notes_train.ravel()]))


def test_seeded_and_capped(tmp_path):
    root = corpus(tmp_path)
    a, b, c = load(root, 0), load(root, 0), load(root, 1)
    np.testing.assert_array_equal(a.train.X, b.train.X)
    assert not np.array_equal(a.val.ids, c.val.ids)
    capped = load(root, max_per_domain=10)
    assert np.bincount(np.concatenate([capped.train.g, capped.val.g, capped.test.g])
                       ).tolist() == [10, 10, 10]
    assert "capped at 10 windows" in capped.notes


def test_error_messages(tmp_path):
    root = corpus(tmp_path)
    assert error("") == "text_folder: `path` is required (a folder with one sub-folder or " \
                        "text file per domain)"
    assert error(tmp_path / "nope") == f"text_folder folder not found: {tmp_path / 'nope'}"
    assert error(root / "prose.txt") == f"text_folder path {root / 'prose.txt'} is a file, " \
                                        "not a folder or a .zip archive; give the folder (or " \
                                        ".zip) that holds one sub-folder or text file per domain"
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".DS_Store").write_text("x")
    assert error(empty) == f"text_folder folder {empty} is empty (hidden entries are skipped); " \
                           "put one sub-folder or text file per domain in it"
    one = tmp_path / "one"
    one.mkdir()
    (one / "only.txt").write_text("text " * 100)
    assert error(one) == f"text_folder found 1 domain in {one} ('only'); a mixture needs at " \
                         "least 2: one sub-folder or text file per domain"
    (root / "tiny.txt").write_text("too short")
    assert error(root) == "text_folder domain 'tiny' has 9 bytes: 0 sequence(s) of 17 bytes " \
                          "(seq_len + 1); each domain needs at least 10 (170 bytes): add text " \
                          "or lower seq_len"
    (root / "tiny.txt").unlink()
    (root / "notes" / "latin.txt").write_bytes("café au lait ".encode("latin-1") * 20)
    assert error(root) == f"text_folder: {root / 'notes' / 'latin.txt'} is not UTF-8 text " \
                          "(byte 0xe9 at offset 3); convert it (e.g. iconv -f latin1 -t " \
                          "utf-8) or remove it"
    (root / "notes" / "latin.txt").write_bytes(b"PK\x03\x04\x00\x00" * 50)
    assert error(root) == f"text_folder: {root / 'notes' / 'latin.txt'} holds binary data " \
                          "(a NUL byte at offset 4); remove it from the corpus"
    (root / "notes" / "latin.txt").unlink()
    (root / "notes.txt").write_text("clash " * 100)
    assert error(root) == f"text_folder has two domains named 'notes' in {root} (a sub-folder " \
                          "and a file, or files that differ only in their suffix); rename one"
    with pytest.raises(wb.ConfigError, match="two domains named 'notes'"):
        wb.RunConfig(dataset="text_folder", dataset_params={"path": str(root)},
                     model="transformer").validate()


def lm_config(path, scheme="uniform", **kw):
    return wb.RunConfig(dataset="text_folder", dataset_params={"path": str(path), "seq_len": 16},
                        model="transformer", model_params=SMALL_MODEL, scheme=scheme, epochs=2,
                        batch_size=16, lr=5e-3, track=16, **kw)


@pytest.mark.parametrize("scheme,params", [("doremi", {}), ("temperature_sampling",
                                                           {"by": "group"}),
                                           ("cooldown", {"by": "group"}), ("linupper", {})])
def test_domain_mixture_schemes_train_with_per_domain_perplexity(tmp_path, scheme, params):
    run = wb.train(lm_config(corpus(tmp_path), scheme, scheme_params=params))
    assert run.status == "done", run.message
    assert {"perplexity", "worst_group_perplexity", "perplexity:code", "perplexity:notes",
            "perplexity:prose"} <= set(run.summary)
    assert run.summary["worst_group_perplexity"] == max(
        run.summary[f"perplexity:{d}"] for d in ("code", "notes", "prose"))
    assert 1 < run.summary["perplexity"] < 256 * 4


def test_reproducible_store_key_follows_files_and_cli(tmp_path, capsys):
    root = corpus(tmp_path)
    store = wb.RunStore(tmp_path / "store")
    first = store.train(lm_config(root))
    again = wb.train(lm_config(root))
    assert first.summary == again.summary  # same data, config and seed: same numbers
    assert store.train(lm_config(root)).key == first.key
    (root / "notes" / "b.md").write_text("# Another title\n- x\n" * 30)
    assert store.train(lm_config(root)).key != first.key
    assert main(["run", "--dataset", "text_folder", "--dataset-param", f"path={root}",
                 "--dataset-param", "seq_len=16", "--model", "transformer", "--model-param",
                 "d_model=16", "--model-param", "n_heads=2", "--model-param", "n_layers=1",
                 "--epochs", "1", "--batch-size", "16", "--no-store", "--json"]) == 0
    assert '"perplexity:notes"' in capsys.readouterr().out
    assert main(["compare", "--dataset", "text_folder", "--dataset-param", f"path={root}",
                 "--dataset-param", "seq_len=16", "--model", "transformer", "--model-param",
                 "d_model=16", "--model-param", "n_heads=2", "--model-param", "n_layers=1",
                 "--epochs", "1", "--batch-size", "16", "--no-store", "--schemes",
                 "uniform;temperature_sampling:by=group", "--seeds", "0"]) == 0
    capsys.readouterr()
    assert main(["run", "--dataset", "text_folder", "--dataset-param", f"path={tmp_path}/x",
                 "--model", "transformer", "--no-store"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "text_folder folder not found" in err


def test_example_corpus_is_what_write_example_writes(tmp_path):
    shipped = wb.DATASETS.create("text_folder", **example_params()).load(0)
    assert shipped.group_names == ["code", "english", "logs", "unicode"]
    built = write_example(tmp_path / "ex")
    assert sorted(p.name for p in built.rglob("*")) == sorted(
        p.name for p in (tmp_path / "ex").rglob("*"))
    rebuilt = wb.DATASETS.create("text_folder", path=str(built)).load(0)
    assert rebuilt.group_names == shipped.group_names
    # logs and unicode come from seeded generators and Python's own tables: identical bytes
    assert rebuilt.extra["domain_bytes"]["logs"] == shipped.extra["domain_bytes"]["logs"]


def test_a_zip_archive_of_the_folder_is_the_same_corpus(tmp_path):
    root = corpus(tmp_path)
    folder = load(root)
    for base_dir in ("corpus", "."):  # zipped as a folder, or its contents at the top level
        archive = shutil.make_archive(str(tmp_path / f"z{len(base_dir)}"), "zip",
                                      root_dir=root if base_dir == "." else tmp_path,
                                      base_dir=base_dir)
        b = load(archive)
        assert b.group_names == folder.group_names
        for s in ("train", "val", "test"):
            np.testing.assert_array_equal(getattr(b, s).X, getattr(folder, s).X)
        spec = wb.DATASETS.create("text_folder", path=archive)
        assert spec.files() == [archive]  # the archive's content is in the store key
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    assert error(bad) == f"could not read {bad} as a .zip archive: File is not a zip file"
    one = tmp_path / "one.zip"
    with zipfile.ZipFile(one, "w") as zf:
        zf.writestr("only.txt", "text " * 100)
        zf.writestr("__MACOSX/._only.txt", "junk")
    assert error(one) == f"text_folder found 1 domain in {one} ('only'); a mixture needs at " \
                         "least 2: one sub-folder or text file per domain"
    latin = tmp_path / "latin.zip"
    with zipfile.ZipFile(latin, "w") as zf:
        zf.writestr("a.txt", "text " * 100)
        zf.writestr("b/c.txt", "café ".encode("latin-1") * 100)
    assert error(latin) == f"text_folder: {latin.resolve()}:b/c.txt is not UTF-8 text (byte " \
                           "0xe9 at offset 3); convert it (e.g. iconv -f latin1 -t utf-8) or " \
                           "remove it"
