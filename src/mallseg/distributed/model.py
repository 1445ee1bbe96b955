"""The model file of a Spark run: the project's Segmenter with Spark's centres.

``explain`` and ``assign --run`` score customers with a run's model file (a
:class:`~mallseg.segment.segmenter.Segmenter`). A Spark run has no such model of its own:
its preprocessing and centres are numbers fitted in Spark. :func:`segmenter_from_spark`
builds the Segmenter from them: the preprocessing is fitted by the project's own
pipeline on the run's features (the same customers Spark fitted on, and the same
transformation: :mod:`mallseg.distributed.preprocess` is checked against it column for
column), and it is refused when it differs from Spark's by more than
:data:`PREPROCESSING_TOLERANCE`; the k-means centres are Spark's, in Spark's segment
numbering. Every customer is then assigned by nearest centre as Spark assigned them; the
confidence model, the segment profiles and the one-customer assigner are fitted from those
segments as :meth:`Segmenter.fit <mallseg.segment.segmenter.Segmenter.fit>` fits them.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from mallseg.app.segment import model_kinds
from mallseg.distributed.preprocess import NumericScaling
from mallseg.distributed.segment import SparkSegmentation
from mallseg.segment.assigner import CompiledAssigner
from mallseg.segment.confidence import SegmentMixture
from mallseg.segment.coverage import enough_data
from mallseg.segment.member_profiles import feature_profile
from mallseg.segment.segmenter import Segmenter

__all__ = ["PREPROCESSING_TOLERANCE", "segmenter_from_spark"]

logger = logging.getLogger(__name__)

PREPROCESSING_TOLERANCE = 1e-6
"""Largest difference allowed between Spark's and the pipeline's scaling numbers."""


def segmenter_from_spark(frame: pd.DataFrame, result: SparkSegmentation, *,
                         seed: int = 0) -> Segmenter:
    """A fitted Segmenter that scores customers as the Spark segmentation ``result`` did.

    Parameters
    ----------
    frame:
        Every customer's features (the run's feature snapshot), with ``customer_id``.
    result:
        The Spark segmentation.
    seed:
        Seed of the confidence model.

    Raises
    ------
    ValueError
        When the preprocessing fitted here is not Spark's (other outputs, or a mean,
        scale or fill value apart by more than :data:`PREPROCESSING_TOLERANCE`).
    """
    features = list(result.features)
    segmenter = Segmenter(
        features=features, algorithm="kmeans", n_segments=result.k, random_state=seed,
        feature_kinds=model_kinds(result.schema, features), min_coverage=result.min_coverage,
    ).fit(frame)
    _check_preprocessing(segmenter, result)
    centres = np.asarray(result.kmeans.centers, dtype=np.float64)
    segmenter.model_.cluster_centers_ = centres.copy()
    segmenter.centers_ = centres
    covered = (enough_data(frame, features, segmenter.min_coverage_)
               if segmenter.min_coverage_ else np.ones(len(frame), dtype=bool))
    points = segmenter.transform(frame)
    labels = np.asarray(segmenter.predict(frame), dtype=np.int64)
    segmenter.labels_ = labels
    segmenter.n_not_enough_data_ = int((~covered).sum())
    segmenter.segment_sizes_ = np.bincount(labels[labels >= 0], minlength=result.k)
    segmenter.n_unassigned_ = 0
    placed = labels >= 0
    segmenter.mixture_ = SegmentMixture(
        segmenter._column_layout(), random_state=seed
    ).fit(points[placed], labels[placed], result.k)
    kinds = segmenter.feature_kinds_
    segmenter.population_profile_ = feature_profile(frame[features], features, kinds)
    segmenter.segment_profile_ = {
        segment: feature_profile(frame[features].iloc[np.flatnonzero(labels == segment)],
                                 features, kinds)
        for segment in range(result.k)
    }
    segmenter.assigner_ = CompiledAssigner.from_segmenter(segmenter)
    logger.info("model of the Spark run: %d segments over %d features", result.k,
                len(features))
    return segmenter


def _check_preprocessing(segmenter: Segmenter, result: SparkSegmentation) -> None:
    outputs = [str(name) for name in segmenter.get_feature_names_out()]
    spark_outputs = list(result.preprocessing.output_names)
    if outputs != spark_outputs:
        raise ValueError(
            f"the preprocessing fitted on the run's features gives columns {outputs}, Spark's "
            f"{spark_outputs}: the model file of this Spark run cannot be made"
        )
    probe = segmenter.preprocessor_
    for scaling in result.preprocessing.encodings:
        if not isinstance(scaling, NumericScaling):
            continue
        steps = probe.named_transformers_[scaling.feature].named_steps
        scaler, imputer = steps["scale"], steps["impute"]
        found = (float(scaler.mean_[0]), float(scaler.scale_[0]),
                 float(imputer.statistics_[0]))
        wanted = (scaling.mean, scaling.scale, scaling.impute_value)
        if not np.allclose(found, wanted, rtol=PREPROCESSING_TOLERANCE,
                           atol=PREPROCESSING_TOLERANCE, equal_nan=True):
            raise ValueError(
                f"{scaling.feature}: the pipeline's mean, scale and fill value {found} are "
                f"not Spark's {wanted}: the model file of this Spark run cannot be made"
            )

