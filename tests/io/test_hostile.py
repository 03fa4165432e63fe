"""Hostile files: every bad file gives a FileFormatError naming it and what is wrong.

Each test also proves that reading wrote nothing to disk (directory listings of the
file's folder, its parent and the working directory, before and after) and that no
pickle was ever loaded (``pickle.load``/``loads``/``Unpickler`` raise if called).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

import glassnet as gn
from glassnet.errors import FileFormatError
from glassnet.layers import Dense, Input, Normalization

KERAS = Path(__file__).resolve().parents[1] / "data" / "keras"


class _Evil:
    """Unpickling this would create the file ``marker``: proof that a pickle ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A folder for hostile files; cwd elsewhere in tmp_path; pickle forbidden."""
    def no_pickle(*args, **kwargs):
        raise AssertionError("a pickle was loaded")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, no_pickle)
    folder = tmp_path / "files"
    folder.mkdir()
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    return folder


def _listing(root: Path) -> list[str]:
    return sorted(str(Path(d, f).relative_to(root)) for d, dirs, files in os.walk(root)
                  for f in files + dirs)


def _refused(load, path, match, root):
    """``load(path)`` raises FileFormatError naming ``path``; nothing appears on disk."""
    before = _listing(root)
    with pytest.raises(FileFormatError, match=match) as caught:
        load(path)
    assert str(path) in str(caught.value)
    assert _listing(root) == before
    return caught.value


# -- building hostile .glassnet files ----------------------------------------------------

def _good_model():
    model = gn.Sequential([Input((4,)), Normalization(name="norm"), Dense(3, "relu",
                                                                          name="hidden"),
                           Dense(2, name="out")])
    model.layers[0].adapt(np.arange(20.0).reshape(5, 4))
    model.compile("adam", "mse")
    model.fit(np.ones((4, 4)), np.zeros((4, 2)), epochs=1, verbose=0)
    return model


@pytest.fixture
def good(work):
    path = work / "good.glassnet"
    _good_model().save(path)
    return path


def _members(path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(path, members, compress=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression=compress) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _with_config(good, path, change):
    members = _members(good)
    config = json.loads(members["config.json"])
    change(config)
    members["config.json"] = json.dumps(config).encode()
    return _zip(path, members)


def _with_tensors(good, path, change):
    members = _members(good)
    tensors = dict(st_load(members["model.safetensors"]))
    change(tensors)
    members["model.safetensors"] = st_save(tensors)
    return _zip(path, members)


def _patch_header(data: bytes, member: str, **fields) -> bytes:
    """Rewrite fields of ``member``'s local and central zip headers (sizes, flags)."""
    layouts = (  # signature, offset of the name length, offset of the name, field offsets
        (b"PK\x01\x02", 28, 46, {"flag_bits": 8, "compress_size": 20, "file_size": 24}),
        (b"PK\x03\x04", 26, 30, {"flag_bits": 6, "compress_size": 18, "file_size": 22}))
    data = bytearray(data)
    for signature, length_at, name_at, offsets in layouts:
        start = data.find(signature)
        while start != -1:
            (name_length,) = struct.unpack_from("<H", data, start + length_at)
            if data[start + name_at:start + name_at + name_length] == member.encode():
                for field, value in fields.items():
                    struct.pack_into("<H" if field == "flag_bits" else "<I", data,
                                     start + offsets[field], value)
            start = data.find(signature, start + 4)
    return bytes(data)


def _config_tamper(change):
    return lambda good, path: _with_config(good, path, change)


def _tensor_tamper(change):
    return lambda good, path: _with_tensors(good, path, change)


def _set_shape(config, path, shape):
    next(v for v in config["variables"] if v["path"] == path)["shape"] = shape


def _set_dtype(config, path, dtype):
    next(v for v in config["variables"] if v["path"] == path)["dtype"] = dtype


def _set_units(config):
    config["model"]["layers"][1]["config"]["units"] = 5


def _set_huge_units(config):
    # 4 inputs -> 10**18 units -> 2 outputs: 7 * 10**18 + 2 weights, plus 9 for Normalization
    config["model"]["layers"][1]["config"]["units"] = 10**18


def _rename_layer(config):
    config["model"]["layers"][2]["config"]["name"] = "renamed"


def _unknown_layer(config):
    config["model"]["layers"][1]["class_name"] = "Lambda"


def _zip_with_extra(name, data):
    def build(good, path):
        members = _members(good)
        members[name] = data
        return _zip(path, members)
    return build


def _patched(member, **fields):
    def build(good, path):
        path.write_bytes(_patch_header(good.read_bytes(), member, **fields))
        return path
    return build


def _flip_weight_byte(good, path):
    data = bytearray(good.read_bytes())
    index = data.find(b"hidden/kernel")  # inside the stored safetensors header
    data[index] ^= 0x20
    path.write_bytes(bytes(data))
    return path


def _duplicate_member(good, path):
    members = _members(good)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate we want
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
            archive.writestr("config.json", members["config.json"])
    return path


CASES = {
    "random bytes": (lambda good, path: path.write_bytes(
        np.random.default_rng(0).bytes(2000)) and path, "not a valid zip"),
    "zip magic then junk": (lambda good, path: path.write_bytes(
        b"PK\x03\x04" + np.random.default_rng(1).bytes(500)) and path, "not a valid zip"),
    "weights member missing": (lambda good, path: _zip(path, {
        "config.json": _members(good)["config.json"]}), "'model.safetensors' is missing"),
    "config member missing": (lambda good, path: _zip(path, {
        "model.safetensors": _members(good)["model.safetensors"]}), "'config.json' is missing"),
    "wrong member name": (lambda good, path: _zip(path, {
        "config.json": _members(good)["config.json"],
        "weights.pkl": _members(good)["model.safetensors"]}), "unexpected members.*weights.pkl"),
    "../escape member": (_zip_with_extra("../escape", b"owned"),
                         r"unexpected members.*'\.\./escape'"),
    "duplicate member": (_duplicate_member, "appears twice"),
    "config not json": (lambda good, path: _zip(path, {
        **_members(good), "config.json": b"{not json"}), "config.json is not valid JSON"),
    "config not a glassnet config": (lambda good, path: _zip(path, {
        **_members(good), "config.json": b"[1, 2]"}), "does not describe a glassnet model"),
    "wrong format version": (_config_tamper(lambda c: c.update(format_version=99)),
                             "format version 99 is not supported"),
    "shape mismatch": (_config_tamper(lambda c: _set_shape(c, "hidden/kernel", [4, 4])),
                       r"'hidden/kernel' should be float32 of shape \(4, 4\), the file holds "
                       r"float32 of shape \(4, 3\)"),
    "dtype mismatch": (_config_tamper(lambda c: _set_dtype(c, "out/bias", "float64")),
                       r"'out/bias' should be float64 .* holds float32"),
    "variable missing": (_tensor_tamper(lambda t: t.pop("hidden/kernel")),
                         "'hidden/kernel' is missing from model.safetensors"),
    "undeclared tensor": (_tensor_tamper(lambda t: t.update(evil=np.zeros(3, np.float32))),
                          "does not declare: 'evil'"),
    "optimizer slot missing": (_tensor_tamper(lambda t: t.pop("optimizer/slot/m")),
                               "optimizer slot 'm' is missing"),
    "malformed optimizer state": (_config_tamper(
        lambda c: c["optimizer_state"].update(iterations="many")), "malformed optimizer_state"),
    "unknown layer class": (_config_tamper(_unknown_layer),
                            "architecture in config.json is invalid.*'Lambda'"),
    "architecture disagrees with weights": (_config_tamper(_set_units),
                                            r"has shape \(4, 3\) in the file, the model "
                                            r"expects \(4, 5\)"),
    "huge units (memory exhaustion)": (_config_tamper(_set_huge_units),
                                       r"needs 7000000000000000011 weights, "
                                       r"model\.safetensors holds 78"),
    "renamed layer": (_config_tamper(_rename_layer),
                      r"architecture in config.json has Variables .*'renamed/bias'.*declares"),
    "bad compile settings": (_config_tamper(
        lambda c: c["compile"].update(optimizer="evil")), "compile settings .* invalid"),
    "weights not safetensors": (lambda good, path: _zip(path, {
        **_members(good), "model.safetensors": b"\x00" * 64}), "is not valid safetensors"),
    "safetensors header claims 2**62 bytes": (lambda good, path: _zip(path, {
        **_members(good), "model.safetensors": struct.pack("<Q", 2**62) + b"{}"}),
        "is not valid safetensors"),
    "huge claimed size": (_patched("config.json", file_size=0xFFFFFFF0),
                          "'config.json' claims 4294967280 bytes, more than"),
    "stored member claims more": (_patched("model.safetensors", file_size=2**31),
                                  "claims 2147483648 bytes, more than the .* config.json can "
                                  "take"),
    "stored member claims a little more": (_patched("model.safetensors", file_size=2000),
                                           "stored uncompressed but claims 2000"),
    "zip bomb ratio": (_patched("config.json", file_size=15 * 2**20),
                       "claims 15728640 bytes from .* compressed bytes"),
    "claims more compressed bytes than the file has": (
        _patched("config.json", compress_size=2**24, file_size=2**24),
        "claims 16777216 compressed bytes in a file of"),
    "encrypted member": (_patched("config.json", flag_bits=1), "'config.json' is encrypted"),
    "tampered bytes (CRC)": (_flip_weight_byte, "corrupt|not valid safetensors|truncated"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_glassnet_file_is_refused(case, good, work):
    build, match = CASES[case]
    path = build(good, work / "bad.glassnet")
    _refused(gn.models.load_model, path, match, work.parent)


def test_evil_pickle_member_is_refused_and_never_unpickled(good, work):
    marker = work.parent / "pwned"
    path = _zip(work / "evil.glassnet", {**_members(good),
                                         "evil.pkl": pickle.dumps(_Evil(marker))})
    _refused(gn.models.load_model, path, r"unexpected members.*'evil\.pkl'", work.parent)
    assert not marker.exists()


@pytest.mark.slow
@pytest.mark.parametrize("fraction", [0.0005, 0.01, 0.1, 0.33, 0.5, 0.9, 0.99, 0.999])
def test_truncated_file_is_refused(fraction, good, work):
    data = good.read_bytes()
    path = work / "cut.glassnet"
    path.write_bytes(data[:max(1, int(len(data) * fraction))])
    _refused(gn.models.load_model, path, "not a valid zip|corrupt|truncated", work.parent)


def test_missing_empty_and_directory_paths_are_refused(work):
    (work / "empty.glassnet").write_bytes(b"")
    (work / "dir.glassnet").mkdir()
    _refused(gn.models.load_model, work / "nope.glassnet", "no such glassnet model file",
             work.parent)
    _refused(gn.models.load_model, work / "empty.glassnet", "the file is empty", work.parent)
    _refused(gn.models.load_model, work / "dir.glassnet", "a directory", work.parent)


def test_good_file_loads_under_the_same_guards(good, work):
    before = _listing(work.parent)
    model = gn.models.load_model(good)
    assert model.optimizer.iterations == 1
    assert _listing(work.parent) == before


# -- weights files -------------------------------------------------------------------------

@pytest.mark.parametrize("content, match", [
    (b"", "the file is empty"),
    (np.random.default_rng(2).bytes(300), "not valid safetensors"),
    (struct.pack("<Q", 2**62) + b"{}", "not valid safetensors"),
    (b"PK\x05\x06" + bytes(18), "not valid safetensors"),
], ids=["empty", "random", "header bomb", "a zip"])
def test_hostile_weights_file_is_refused(content, match, work):
    path = work / "w.safetensors"
    path.write_bytes(content)
    model = gn.Sequential([Input((4,)), Dense(3)])
    _refused(model.load_weights, path, match, work.parent)


def test_truncated_weights_file_is_refused(work):
    model = gn.Sequential([Input((4,)), Dense(3)])
    model.save_weights(work / "w.safetensors")
    data = (work / "w.safetensors").read_bytes()
    for cut in (4, 9, len(data) // 2, len(data) - 1):
        (work / "cut.safetensors").write_bytes(data[:cut])
        _refused(model.load_weights, work / "cut.safetensors", "not valid safetensors",
                 work.parent)


@pytest.mark.parametrize("content, match", [
    (b"", "the file is empty"),
    (np.random.default_rng(5).bytes(300), "not valid safetensors"),
    (struct.pack("<Q", 2**62) + b"{}", "not valid safetensors"),
    (st_save({"0.weight": np.zeros((8, 4), np.float32)})[:-7], "not valid safetensors"),
    (st_save({"0.weight": np.zeros((8, 4), np.int32)}), "'0.weight' is int32, not floats"),
], ids=["empty", "random", "header bomb", "truncated", "integer weights"])
def test_hostile_torch_state_dict_is_refused(content, match, work):
    path = work / "state.safetensors"
    path.write_bytes(content)
    model = gn.Sequential([Input((4,)), Dense(8)])
    _refused(lambda p: gn.io.load_torch_state(p, model), path, match, work.parent)


# -- Keras files -----------------------------------------------------------------------------

h5py = pytest.importorskip("h5py")


def _keras_members(name="norm_mlp"):
    return _members(KERAS / f"{name}.keras")


def _h5_copy(source: bytes, change) -> bytes:
    """A copy of an HDF5 file (all groups, datasets and attributes) with ``change`` applied."""
    out = io.BytesIO()
    with h5py.File(io.BytesIO(source), "r") as src, h5py.File(out, "w") as dst:
        def copy(name, obj):
            if isinstance(obj, h5py.Dataset):
                dst.create_dataset(name, data=obj[()])
            else:
                dst.require_group(name)
            dst[name].attrs.update(dict(obj.attrs))
        src.visititems(copy)
        change(dst)
    return out.getvalue()


def _keras_with_h5(change, name="norm_mlp"):
    def build(work):
        members = _keras_members(name)
        members["model.weights.h5"] = _h5_copy(members["model.weights.h5"], change)
        return _zip(work / "bad.keras", members, compress=zipfile.ZIP_STORED)
    return build


def _keras_with_config(change):
    def build(work):
        members = _keras_members()
        config = json.loads(members["config.json"])
        change(config)
        members["config.json"] = json.dumps(config).encode()
        return _zip(work / "bad.keras", members)
    return build


def _replace_dataset(name, value):
    def change(f):
        del f[name]
        f[name] = value
    return change


def _set_keras_layer(index, **settings):
    def change(config):
        layer = config["config"]["layers"][index]
        for key, value in settings.items():
            if key == "class_name":
                layer["class_name"] = value
            else:
                layer["config"][key] = value
    return change


def _external_link(f):
    del f["layers/dense/vars/0"]
    f["layers/dense/vars/0"] = h5py.ExternalLink("/etc/hostname", "/")


def _external_storage(work):
    def change(f):
        secret = work.parent / "secret.bin"
        secret.write_bytes(np.ones((3, 4), np.float32).tobytes())
        del f["layers/dense/vars/0"]
        f.create_dataset("layers/dense/vars/0", shape=(3, 4), dtype="f4",
                         external=[(str(secret), 0, 48)])
    return change


KERAS_CASES = {
    "random bytes": (lambda work: (work / "bad.keras").write_bytes(
        np.random.default_rng(3).bytes(999)) and work / "bad.keras", "not a valid zip"),
    "evil pickle member": (lambda work: _zip(work / "bad.keras", {
        **_keras_members(), "evil.pkl": pickle.dumps(_Evil(work.parent / "pwned"))}),
        r"unexpected members.*'evil\.pkl'"),
    "../escape member": (lambda work: _zip(work / "bad.keras", {
        **_keras_members(), "../escape": b"x"}), r"'\.\./escape'"),
    "weights member missing": (lambda work: _zip(work / "bad.keras", {
        "config.json": _keras_members()["config.json"]}), "'model.weights.h5' is missing"),
    "weights not HDF5": (lambda work: _zip(work / "bad.keras", {
        **_keras_members(), "model.weights.h5": b"\x89HDF\r\n\x1a\n" + bytes(100)}),
        "not a readable HDF5 file"),
    "weights without HDF5 signature": (lambda work: _zip(work / "bad.keras", {
        **_keras_members(), "model.weights.h5": pickle.dumps(_Evil(work / "p"))}),
        "not an HDF5 file"),
    "config not json": (lambda work: _zip(work / "bad.keras", {
        **_keras_members(), "config.json": b"\xff\xfe"}), "config.json is not valid JSON"),
    "subclassed model": (_keras_with_config(lambda c: c.update(class_name="MyModel")),
                         "reads Keras Sequential and functional models; this file holds a "
                         "'MyModel'"),
    "sequential relabelled functional": (
        _keras_with_config(lambda c: c.update(class_name="Functional")),
        "the functional model cannot be rebuilt: layer 'normalization' is called 0 times"),
    "lambda layer": (_keras_with_config(_set_keras_layer(2, class_name="Lambda")),
                     "layer 'hidden' is a Keras Lambda, which glassnet cannot load"),
    "unknown activation": (_keras_with_config(_set_keras_layer(2, activation="hard_sigmoid")),
                           "activation 'hard_sigmoid' is not one glassnet has"),
    # 3 inputs -> 10**12 units -> 2 outputs: 6 * 10**12 + 2 weights, plus 7 for Normalization
    "huge units (memory exhaustion)": (_keras_with_config(_set_keras_layer(2, units=10**12)),
                                       r"needs 6000000000009 weights, more "
                                       r"than model\.weights\.h5 can hold"),
    "activity regularizer": (_keras_with_config(_set_keras_layer(
        2, activity_regularizer={"class_name": "L2", "config": {"l2": 0.1}})),
        "setting activity_regularizer=.* is not supported"),
    "shape mismatch in h5": (_keras_with_h5(_replace_dataset(
        "layers/dense/vars/0", np.zeros((4, 3), np.float32))),
        r"vars/0 has shape \(4, 3\), 'hidden/kernel' \(layer 'hidden', variable 'kernel'\) "
        r"needs \(3, 4\)"),
    "string dataset in h5": (_keras_with_h5(_replace_dataset(
        "layers/dense/vars/1", np.array([b"a", b"b", b"c", b"d"]))), "not numbers"),
    "missing weight in h5": (_keras_with_h5(lambda f: f.__delitem__("layers/dense/vars/1")),
                             r"'hidden' \(Dense\) needs 2 weight arrays"),
    "renamed layer in h5": (_keras_with_h5(
        lambda f: f["layers/dense/vars"].attrs.__setitem__("name", "other")),
        "holds the weights of layer 'other'"),
    "optimizer slot missing in h5": (_keras_with_h5(
        lambda f: f.__delitem__("optimizer/vars/9"), name="trained_mlp"),
        r"/optimizer/vars has 9 arrays; Adam over 4 variables needs 10"),
    "optimizer slot with wrong shape": (_keras_with_h5(_replace_dataset(
        "optimizer/vars/2", np.zeros((4, 2), np.float32)), name="trained_mlp"),
        r"vars/2 has shape \(4, 2\), slot 'm' of 'hidden/kernel' needs \(2, 4\)"),
    "external link in h5": (_keras_with_h5(_external_link),
                            r"vars/0 is a ExternalLink, not data stored in the file$"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(KERAS_CASES))
def test_hostile_keras_file_is_refused(case, work):
    build, match = KERAS_CASES[case]
    path = build(work)
    _refused(gn.io.load_keras, path, match, work.parent)
    assert not (work.parent / "pwned").exists()


def test_keras_dataset_stored_outside_the_file_is_never_read(work):
    path = _keras_with_h5(_external_storage(work))(work)
    _refused(gn.io.load_keras, path, "keeps its data outside the file", work.parent)


@pytest.mark.parametrize("fraction", [0.01, 0.3, 0.6, 0.95])
def test_truncated_keras_files_are_refused(fraction, work):
    for source, load in ((KERAS / "norm_mlp.keras", gn.io.load_keras),
                         (KERAS / "norm_mlp.weights.h5", _hand_built_norm_mlp().load_weights)):
        data = source.read_bytes()
        path = work / f"cut{source.suffix}"
        path.write_bytes(data[:int(len(data) * fraction)])
        _refused(load, path, "not a valid zip|HDF5|corrupt|truncated|missing", work.parent)


def _hand_built_norm_mlp():
    return gn.Sequential([Input((3,)), Normalization(), Dense(4, "relu"), Dense(2, "softmax")])


def test_hostile_keras_weights_file_is_refused(work):
    model = _hand_built_norm_mlp()
    (work / "r.weights.h5").write_bytes(np.random.default_rng(4).bytes(700))
    _refused(model.load_weights, work / "r.weights.h5", "not an HDF5 file", work.parent)
    (work / "e.weights.h5").write_bytes(b"")
    _refused(model.load_weights, work / "e.weights.h5", "the file is empty", work.parent)
