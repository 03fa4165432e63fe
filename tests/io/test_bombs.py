"""Zip bombs and lying zip headers: refused with a FileFormatError naming the file, in
bounded memory.

Each bomb is a deflated stream of 256 MiB of zeros (about 260 KB on disk), built in
chunks so that making it takes a second and little memory. Memory is measured in a
fresh subprocess: the peak resident size (``ru_maxrss``) after ``import glassnet``
and h5py, against the peak after trying to load the file. The bound glassnet
documents is about twice the bytes of the model the file describes, plus a constant
(one 1 MiB chunk, the headers): every model here is under 1 KB, so a load may grow
the peak by at most ``MAX_GROWTH``. Before these checks a bomb like these took
256 MiB to 512 MiB before being refused.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save as st_save

import glassnet as gn
from glassnet.errors import FileFormatError
from glassnet.layers import Dense, Input

KERAS = Path(__file__).resolve().parents[1] / "data" / "keras"
BOMB_BYTES = 256 * 2**20
MAX_GROWTH = 48 * 2**20


def _small_model():
    model = gn.Sequential([Input((4,)), Dense(3, "relu", name="hidden"), Dense(2, name="out")])
    model.compile("adam", "mse")
    model.fit(np.ones((4, 4)), np.zeros((4, 2)), epochs=1, verbose=0)
    return model


def _members(path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _deflated_zip_bomb(path, members, bomb_member, prefix=b""):
    chunk = bytes(2**20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in members.items():
            if name != bomb_member:
                archive.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
        with archive.open(bomb_member, "w") as handle:
            handle.write(prefix)
            left = BOMB_BYTES - len(prefix)
            while left:
                step = min(left, len(chunk))
                handle.write(chunk[:step])
                left -= step
    return path


def _patch_sizes(path, member: str, file_size: int, local=True, central=True):
    """Rewrite ``member``'s declared uncompressed size in its local and/or central header."""
    data = bytearray(path.read_bytes())
    layouts = []
    if central:
        layouts.append((b"PK\x01\x02", 28, 46, 24))
    if local:
        layouts.append((b"PK\x03\x04", 26, 30, 22))
    for signature, length_at, name_at, size_at in layouts:
        start = data.find(signature)
        while start != -1:
            (name_length,) = struct.unpack_from("<H", data, start + length_at)
            if data[start + name_at:start + name_at + name_length] == member.encode():
                struct.pack_into("<I", data, start + size_at, file_size)
            start = data.find(signature, start + 4)
    path.write_bytes(bytes(data))
    return path


_MEASURE = """
import resource, sys
import glassnet as gn, glassnet.io.keras, glassnet.io.native, h5py, numpy
from glassnet.errors import FileFormatError
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    gn.models.load_model(sys.argv[1])
    message = "loaded"
except FileFormatError as exc:
    message = str(exc)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) * 1024)
print(message)
"""


def _load_in_subprocess(path) -> tuple[int, str]:
    """(growth of peak memory in bytes, the error message) of loading ``path`` afresh."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], capture_output=True,
                          text=True, check=True, timeout=300)
    growth, message = done.stdout.split("\n", 1)
    return int(growth), message.strip()


def _refused_in_bounded_memory(path, match):
    with pytest.raises(FileFormatError, match=match) as caught:
        gn.models.load_model(path)
    assert str(path) in str(caught.value)
    growth, message = _load_in_subprocess(path)
    assert message == str(caught.value)
    assert growth < MAX_GROWTH, f"loading took {growth / 2**20:.0f} MiB more"


# -- .glassnet ---------------------------------------------------------------------------

@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.glassnet"
    _small_model().save(path)
    return path


@pytest.mark.slow
def test_glassnet_weights_member_bomb_is_refused_before_inflating(good, tmp_path):
    path = _deflated_zip_bomb(tmp_path / "bomb.glassnet", _members(good), "model.safetensors")
    assert path.stat().st_size < 2**20
    _refused_in_bounded_memory(path, r"'model.safetensors' claims 268435456 bytes, more than "
                                     r"the \d+ the variables and optimizer slots in "
                                     r"config.json can take")


@pytest.mark.slow
def test_glassnet_bomb_with_a_lying_size_is_refused_one_chunk_past_it(good, tmp_path):
    members = _members(good)
    real = len(members["model.safetensors"])
    path = _deflated_zip_bomb(tmp_path / "bomb.glassnet", members, "model.safetensors",
                              prefix=members["model.safetensors"])
    _patch_sizes(path, "model.safetensors", real)  # local and central agree, and lie
    _refused_in_bounded_memory(path, f"'model.safetensors' inflates to more than the {real} "
                                     f"bytes its header declares")


@pytest.mark.slow
def test_config_member_bomb_with_a_lying_size_is_refused(good, tmp_path):
    members = _members(good)
    path = _deflated_zip_bomb(tmp_path / "bomb.glassnet", members, "config.json",
                              prefix=members["config.json"])
    _patch_sizes(path, "config.json", len(members["config.json"]))
    _refused_in_bounded_memory(path, "'config.json' inflates to more than")


@pytest.mark.slow
def test_safetensors_header_claiming_more_than_the_member_is_refused(good, tmp_path):
    members = _members(good)
    # A valid safetensors header for a 256 MiB tensor, with no data after it.
    header = json.dumps({"hidden/kernel": {"dtype": "F32", "shape": [2**26],
                                           "data_offsets": [0, 2**28]}}).encode()
    members["model.safetensors"] = struct.pack("<Q", len(header)) + header
    path = tmp_path / "lying.glassnet"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    _refused_in_bounded_memory(path, r"its header declares 268435456 bytes of tensors, but "
                                     r"the stream declares 0")


def test_local_header_disagreeing_with_the_directory_is_refused(good, tmp_path):
    path = tmp_path / "local.glassnet"
    path.write_bytes(good.read_bytes())
    _patch_sizes(path, "model.safetensors", 5, central=False)
    with pytest.raises(FileFormatError, match=r"'model.safetensors' has a local header "
                                              r"declaring size 5, the zip's directory \d+"):
        gn.models.load_model(path)


def test_tensors_beyond_what_config_declares_are_refused_before_reading(good, tmp_path):
    members = _members(good)
    big = st_save({"hidden/kernel": np.zeros(2**20, np.float32)})  # 4 MiB, honest sizes
    members["model.safetensors"] = big
    path = tmp_path / "big.glassnet"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    with pytest.raises(FileFormatError, match=r"claims 4194\d+ bytes, more than the \d+ the "
                                              r"variables and optimizer slots"):
        gn.models.load_model(path)


# -- .keras ----------------------------------------------------------------------------

h5py = pytest.importorskip("h5py")


@pytest.mark.slow
def test_keras_weights_member_bomb_is_refused_before_inflating(tmp_path):
    path = _deflated_zip_bomb(tmp_path / "bomb.keras", _members(KERAS / "norm_mlp.keras"),
                              "model.weights.h5")
    _refused_in_bounded_memory(path, r"'model.weights.h5' claims 268435456 bytes, more than "
                                     r"the \d+ the model config.json describes can need")


@pytest.mark.slow
def test_keras_bomb_with_a_lying_size_is_refused(tmp_path):
    members = _members(KERAS / "norm_mlp.keras")
    real = len(members["model.weights.h5"])
    path = _deflated_zip_bomb(tmp_path / "bomb.keras", members, "model.weights.h5",
                              prefix=members["model.weights.h5"])
    _patch_sizes(path, "model.weights.h5", real)
    _refused_in_bounded_memory(path, f"'model.weights.h5' inflates to more than the {real} "
                                     f"bytes")


@pytest.mark.slow
def test_keras_metadata_bomb_is_refused(tmp_path):
    members = _members(KERAS / "norm_mlp.keras")
    path = _deflated_zip_bomb(tmp_path / "bomb.keras", members, "metadata.json",
                              prefix=members["metadata.json"])
    _patch_sizes(path, "metadata.json", len(members["metadata.json"]))
    _refused_in_bounded_memory(path, "'metadata.json' inflates to more than")


# -- the guarded reader still reads good files exactly ---------------------------------

def test_good_files_still_load_exactly(tmp_path):
    original = _small_model()
    original.save(tmp_path / "m.glassnet")
    model = gn.models.load_model(tmp_path / "m.glassnet")
    for want, got in zip(original.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    for name, slot in original.optimizer.slots.items():
        np.testing.assert_array_equal(model.optimizer.slots[name], slot)
    keras_model = gn.models.load_model(KERAS / "norm_mlp.keras")
    assert [layer.name for layer in keras_model.layers] == ["normalization", "hidden",
                                                            "dropout", "out"]


class _Unseekable:
    """A write-only stream: zipfile then writes data descriptors (local sizes are 0)."""

    def __init__(self):
        self.chunks = []

    def write(self, data):
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self):
        pass


def test_members_with_data_descriptors_still_load(tmp_path):
    original = _small_model()
    original.save(tmp_path / "m.glassnet")
    stream = _Unseekable()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in _members(tmp_path / "m.glassnet").items():
            archive.writestr(name, data)
    (tmp_path / "streamed.glassnet").write_bytes(b"".join(stream.chunks))
    with zipfile.ZipFile(tmp_path / "streamed.glassnet") as archive:
        assert all(info.flag_bits & 0x8 for info in archive.infolist())
    model = gn.models.load_model(tmp_path / "streamed.glassnet")
    for want, got in zip(original.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
