"""Datasets and models, versioned: content-hashed datasets and a model registry with aliases.

``log_dataset`` hashes every array's name, dtype, shape and bytes in name order, so the
same data gets the same version in any process, and new data under the same name gets
the next version. ``log_model`` saves a model in the native file format as a blob and
adds it as a new version; aliases (``latest``, ``best``...) move to the newest version
they are given to, and :func:`set_alias` moves one to any existing version (``glassnet
model alias digits-mlp:v2 production``). ``load_model("name:alias")`` / ``"name:v3"``
reads it back.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile

import numpy as np

from glassnet.track.errors import ConfigError, DataError, NotFoundError
from glassnet.track.store import Store, open_store
from glassnet.track.store.annotations import check_alias


def dataset_hash(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over each array's name, dtype, shape and bytes, in sorted name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        if a.dtype.hasobject:
            raise DataError(f"dataset array {name!r} has dtype object; give numbers or strings")
        digest.update(f"{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        digest.update(a.view(np.uint8).reshape(-1) if a.size else b"")
    return digest.hexdigest()


def log_dataset(store: Store, name: str, arrays: dict, run_id: str | None = None,
                save: bool = True) -> int:
    """Register the dataset ``{array name: array}`` under ``name``; return its version."""
    if not isinstance(name, str) or not name or ":" in name:
        raise ConfigError(f"dataset name must be a non-empty string without ':', got {name!r}")
    if not arrays:
        raise DataError(f"log_dataset({name!r}) needs at least one array, e.g. X=..., y=...")
    arrays = {k: np.asarray(v) for k, v in arrays.items() if v is not None}
    content_hash = dataset_hash(arrays)
    sha = None
    if save and all(a.dtype.kind in "biuf" for a in arrays.values()):
        sha = store.blobs.put_arrays(arrays)
    size = int(sum(a.nbytes for a in arrays.values()))
    described = {k: {"shape": list(a.shape), "dtype": a.dtype.str} for k, a in arrays.items()}
    meta = {"arrays": described,
            "n_samples": int(len(next(iter(arrays.values())))) if arrays else 0}
    return store.register_dataset(name, content_hash, sha, meta, run_id, size)


def load_dataset(spec: str, store=None) -> dict[str, np.ndarray]:
    """The arrays of dataset ``"name:v2"`` (or ``"name"`` for the newest version)."""
    store = open_store(store)
    name, _, ref = spec.partition(":")
    versions = store.datasets(name)
    if not versions:
        raise _not_found(f"no dataset named {name!r} in store {store.root}")
    if ref:
        number = int(ref[1:]) if ref[:1] in "vV" and ref[1:].isdigit() else None
        chosen = [d for d in versions if d["version"] == number]
        if not chosen:
            raise _not_found(f"dataset {name!r} has no version {ref!r}; versions: "
                             f"{['v' + str(d['version']) for d in versions]}")
        entry = chosen[0]
    else:
        entry = versions[-1]
    if entry["sha"] is None:
        raise _not_found(f"dataset {name}:v{entry['version']} was logged without its data")
    return store.blobs.get_arrays(entry["sha"])


def log_model(store: Store, model, name: str, aliases=("latest",), run_id: str | None = None,
              meta: dict | None = None) -> int:
    """Save ``model`` (``model.save``) as a new registry version of ``name``; return it."""
    if not isinstance(name, str) or not name or ":" in name:
        raise ConfigError(f"model name must be a non-empty string without ':', got {name!r}")
    if isinstance(aliases, str):
        aliases = [aliases]
    for alias in aliases:
        check_alias(alias)
    tmp = tempfile.mkdtemp(prefix="glassnet-model-")
    try:
        path = os.path.join(tmp, f"{name}.glassnet")
        model.save(path)
        sha = store.blobs.put_file(path)
        size = os.path.getsize(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    info = dict(meta or {})
    for attr in ("name",):
        if isinstance(getattr(model, attr, None), str):
            info["model_name"] = getattr(model, attr)
    try:
        info["params"] = int(model.count_params())
    except Exception:
        pass
    return store.register_model(name, sha, info, run_id, list(aliases), size)


def load_model(spec: str, store=None):
    """The model registered as ``"name:alias"``, ``"name:v3"`` or ``"name"`` (its latest)."""
    from glassnet.models import load_model as load_native

    store = open_store(store)
    name, _, ref = spec.partition(":")
    entry = store.model_version(name, ref or None)
    blob = store.blobs.path(entry["sha"])
    tmp = tempfile.mkdtemp(prefix="glassnet-model-")
    try:  # the native loader may go by the file's suffix
        path = os.path.join(tmp, f"{name}.glassnet")
        shutil.copyfile(blob, path)
        return load_native(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def set_alias(spec: str, alias: str, store=None) -> int:
    """Move ``alias`` to the version ``spec`` names (``"digits-mlp:v2"``, or
    ``"digits-mlp:best"`` for the version another alias holds); return that version.

    One statement: the version that held the alias loses it as the new one gets it."""
    store = open_store(store)
    if not isinstance(spec, str) or ":" not in spec:
        raise ConfigError(f"give the model version as NAME:VERSION (digits-mlp:v2), got "
                          f"{spec!r}")
    name, _, ref = spec.partition(":")
    version = store.model_version(name, ref)["version"]  # NotFoundError lists what there is
    return store.set_model_alias(name, version, alias)


def list_models(store=None) -> list[dict]:
    """Every registered model version, oldest first per name: ``name, version, aliases,
    run_id, params, created_at`` (read only: nothing is loaded or changed)."""
    store = open_store(store)
    return [{"name": m["name"], "version": m["version"], "aliases": m["aliases"],
             "run_id": m["run_id"], "params": m["meta"].get("params"),
             "created_at": m["created_at"]} for m in store.models()]


def _not_found(message: str) -> Exception:
    return NotFoundError(message)
