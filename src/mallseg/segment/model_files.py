"""Save and load fitted segmenters as skops files that cannot run code when opened.

A model file is a skops archive (no pickle) with one more member,
``mallseg_metadata.json``: the model format version, lens, features and their kinds,
the preprocessing, the library versions and a schema fingerprint, plus whatever the caller
adds under ``"user"``. Loading reads the metadata first and refuses, with a
:class:`ModelFileError` naming the difference, a file of another model format version or
one fitted on other features than expected. Only types on an allow-list are rebuilt:
classes from scikit-learn, numpy and scipy, and mallseg's own segmentation classes and
preprocessing functions.

Examples
--------
>>> import tempfile, pathlib
>>> import pandas as pd
>>> from mallseg.segment.segmenter import Segmenter
>>> customers = pd.DataFrame({"annual_income": [15, 16, 120, 125],
...                           "spending_score": [80, 78, 10, 12]})
>>> segmenter = Segmenter(features="classic", n_segments=2).fit(customers)
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> path = save_segmenter(segmenter, folder / "model.skops", metadata={"run": 7})
>>> loaded, record = load_segmenter(path, expected_features=["annual_income", "spending_score"])
>>> (loaded.predict(customers) == segmenter.predict(customers)).all(), record["user"]["run"]
(np.True_, 7)
>>> load_segmenter(path, expected_features=["age"])
Traceback (most recent call last):
...
mallseg.segment.model_files.ModelFileError: ... features differ: expected ['age'], file has ['annual_income', 'spending_score'] (missing: ['age']; unexpected: ['annual_income', 'spending_score'])
"""  # noqa: E501

from __future__ import annotations

import hashlib
import importlib
import json
import os
import platform
import tempfile
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
import skops
import skops.io as sio
from sklearn.utils.validation import check_is_fitted

import mallseg
from mallseg.segment.preprocess import describe_preprocessing
from mallseg.segment.segmenter import Segmenter

__all__ = [
    "METADATA_MEMBER",
    "MODEL_FORMAT",
    "MODEL_FORMAT_VERSION",
    "ModelFileError",
    "ModelVersionWarning",
    "load_segmenter",
    "save_segmenter",
    "schema_fingerprint",
]

MODEL_FORMAT = "mallseg-segmenter"
MODEL_FORMAT_VERSION = 3
"""Bump when a fitted segmenter's attributes change meaning: older files are then refused.

Version 2: missing indicators in the preprocessing (scaling before imputation), confidence
from an EM-fitted segment mixture (``mixture_``), HDBSCAN assignment by its approximate
prediction, per-segment profiles, caller-given feature kinds."""

METADATA_MEMBER = "mallseg_metadata.json"

_TRUSTED_PACKAGES = ("sklearn.", "numpy.", "scipy.")
_TRUSTED_MALLSEG = frozenset(
    {
        "mallseg.segment.segmenter.Segmenter",
        "mallseg.segment.assigner.CompiledAssigner",
        "mallseg.segment.algorithms.SampledMiniBatchKMeans",
        "mallseg.segment.algorithms.WardCentroids",
        "mallseg.segment.algorithms.HDBSCANSegments",
        "mallseg.segment.density.DensityTree",
        "mallseg.segment.posteriors.ColumnLayout",
        "mallseg.segment.confidence.SegmentMixture",
        "mallseg.segment.clipping.QuantileClipper",
        "mallseg.segment.preprocess.float_matrix",
        "mallseg.segment.preprocess.log1p_nonnegative",
        "mallseg.segment.preprocess.category_strings",
        "mallseg.segment.preprocess.weight_categories",
        "mallseg.segment.missing_values.weight_missing_indicator",
    }
)


class ModelFileError(ValueError):
    """A model file that cannot or must not be loaded; the message says why."""


class ModelVersionWarning(UserWarning):
    """A model file written with another scikit-learn version (predictions may differ)."""


def schema_fingerprint(segmenter: Segmenter) -> str:
    """Return a hash of what a fitted segmenter expects and produces.

    Covers the features in order, their kinds, the preprocessed output columns and the
    number of segments: two models with the same fingerprint read the same customer table.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"age": [20, 30, 60]})
    >>> len(schema_fingerprint(Segmenter(features=["age"], n_segments=2).fit(frame)))
    64
    """
    check_is_fitted(segmenter, "model_")
    schema = {
        "features": [str(f) for f in segmenter.feature_names_in_],
        "kinds": dict(segmenter.feature_kinds_),
        "outputs": [str(name) for name in segmenter.get_feature_names_out()],
        "n_segments": int(segmenter.n_segments_),
    }
    return hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()


def _library_versions() -> dict[str, str]:
    return {
        "mallseg": mallseg.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "skops": skops.__version__,
        "python": platform.python_version(),
    }


def _metadata_record(segmenter: Segmenter, metadata: Mapping[str, Any]) -> dict[str, Any]:
    features = [str(f) for f in segmenter.feature_names_in_]
    lens = metadata.get("lens", segmenter.features if isinstance(segmenter.features, str) else (
        "custom" if segmenter.features is not None else "all columns"
    ))
    params = segmenter.get_params()
    if params["features"] is not None and not isinstance(params["features"], str):
        params["features"] = list(params["features"])
    if params.get("feature_kinds") is not None:
        params["feature_kinds"] = dict(params["feature_kinds"])
    return {
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "lens": lens,
        "algorithm": segmenter.algorithm,
        "params": params,
        "n_segments": int(segmenter.n_segments_),
        "features": features,
        "feature_kinds": dict(segmenter.feature_kinds_),
        "output_features": [str(n) for n in segmenter.get_feature_names_out()],
        "preprocessing": describe_preprocessing(segmenter.preprocessor_, segmenter.feature_kinds_),
        "versions": _library_versions(),
        "schema_fingerprint": schema_fingerprint(segmenter),
        "user": dict(metadata),
    }


def save_segmenter(
    segmenter: Segmenter, path: str | os.PathLike[str], *, metadata: Mapping[str, Any]
) -> Path:
    """Write a fitted segmenter and its metadata to one skops file; return its path.

    The file is written to a temporary name and moved into place, so a reader never sees
    half a model.

    Parameters
    ----------
    segmenter:
        A fitted :class:`~mallseg.segment.segmenter.Segmenter`.
    path:
        Destination (``.skops`` by convention); parent folders are created.
    metadata:
        JSON-serialisable facts to keep with the model (run id, data snapshot, ...),
        returned under ``"user"`` by :func:`load_segmenter`. A ``"lens"`` key here names
        the lens in the record.

    Raises
    ------
    TypeError
        When ``segmenter`` is not a Segmenter or ``metadata`` is not JSON-serialisable.
    sklearn.exceptions.NotFittedError
        When the segmenter is not fitted.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> fitted = Segmenter(features=["age"], n_segments=2).fit(pd.DataFrame({"age": [1, 2, 9]}))
    >>> save_segmenter(fitted, pathlib.Path(tempfile.mkdtemp()) / "m.skops", metadata={}).name
    'm.skops'
    """
    if not isinstance(segmenter, Segmenter):
        raise TypeError(f"segmenter must be a Segmenter, got {type(segmenter).__name__}")
    check_is_fitted(segmenter, "model_")
    record = _metadata_record(segmenter, metadata)
    try:
        encoded = json.dumps(record, indent=2, sort_keys=True, allow_nan=True)
    except TypeError as error:
        raise TypeError(f"metadata must be JSON-serialisable: {error}") from error
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(handle)
    try:
        sio.dump(segmenter, temporary)
        with zipfile.ZipFile(temporary, mode="a") as archive:
            archive.writestr(METADATA_MEMBER, encoded)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return target


def _read_metadata(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ModelFileError(f"no model file at {path}")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path} is not a mallseg model file (not a skops archive)")
    with zipfile.ZipFile(path) as archive:
        if METADATA_MEMBER not in archive.namelist():
            raise ModelFileError(
                f"{path} has no {METADATA_MEMBER}: it was not written by save_segmenter"
            )
        record = json.loads(archive.read(METADATA_MEMBER))
    if not isinstance(record, dict) or record.get("format") != MODEL_FORMAT:
        raise ModelFileError(f"{path} is not a {MODEL_FORMAT} file")
    version = record.get("format_version")
    if version != MODEL_FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written in model format version {version}; this mallseg "
            f"{mallseg.__version__} reads version {MODEL_FORMAT_VERSION}: refit the model"
        )
    return record


def _check_features(path: Path, found: list[str], expected: Sequence[str]) -> None:
    wanted = [str(f) for f in expected]
    if wanted == found:
        return
    missing = [f for f in wanted if f not in found]
    unexpected = [f for f in found if f not in wanted]
    detail = (
        f"missing: {missing}; unexpected: {unexpected}" if missing or unexpected
        else "same features in another order"
    )
    raise ModelFileError(
        f"{path} features differ: expected {wanted}, file has {found} ({detail})"
    )


def _is_trusted(type_name: str) -> bool:
    if type_name in _TRUSTED_MALLSEG:
        return True
    if not type_name.startswith(_TRUSTED_PACKAGES):
        return False
    module_name, _, attribute = type_name.rpartition(".")
    try:
        resolved = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError):
        return False
    # classes only: a numpy or scikit-learn *function* in a file could be called on load
    return isinstance(resolved, type)


def load_segmenter(
    path: str | os.PathLike[str], *, expected_features: Sequence[str] | None = None
) -> tuple[Segmenter, dict[str, Any]]:
    """Load a segmenter written by :func:`save_segmenter`, with its metadata record.

    Parameters
    ----------
    path:
        The model file.
    expected_features:
        When given, the features (in order) the caller will pass; a model fitted on
        others is refused.

    Raises
    ------
    ModelFileError
        When the file is missing, not a mallseg model, of another model format version,
        fitted on other features, holds types outside the allow-list, or does not match
        its own metadata.

    Examples
    --------
    >>> load_segmenter("no/such/model.skops")
    Traceback (most recent call last):
    ...
    mallseg.segment.model_files.ModelFileError: no model file at no/such/model.skops
    """
    source = Path(path)
    record = _read_metadata(source)
    if expected_features is not None:
        _check_features(source, list(record.get("features", [])), expected_features)
    untrusted = sio.get_untrusted_types(file=source)
    refused = sorted(t for t in untrusted if not _is_trusted(t))
    if refused:
        raise ModelFileError(f"{source} holds types outside the allow-list: {refused}")
    try:
        segmenter = sio.load(source, trusted=untrusted)
    except Exception as error:  # skops raises many kinds on a damaged archive
        raise ModelFileError(f"{source} could not be read: {error}") from error
    if not isinstance(segmenter, Segmenter):
        raise ModelFileError(f"{source} holds a {type(segmenter).__name__}, not a Segmenter")
    if schema_fingerprint(segmenter) != record.get("schema_fingerprint"):
        raise ModelFileError(f"{source}: the model does not match its metadata (fingerprint)")
    written_with = record.get("versions", {}).get("scikit-learn")
    if written_with != sklearn.__version__:
        warnings.warn(
            f"{source} was written with scikit-learn {written_with}, this is "
            f"{sklearn.__version__}: check its predictions",
            ModelVersionWarning,
            stacklevel=2,
        )
    return segmenter, record
