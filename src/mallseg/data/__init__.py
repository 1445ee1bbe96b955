"""The ingest layer: a user's file into the canonical tables, every row validated.

Reading: :mod:`~mallseg.data.readers` (with :mod:`~mallseg.data.csv_reader`,
:mod:`~mallseg.data.parquet_reader`, :mod:`~mallseg.data.excel_reader`) stages a file unit
by unit. Mapping and checks: :mod:`~mallseg.data.mapping`, :mod:`~mallseg.data.prepare`,
:mod:`~mallseg.data.typing_plan`, :mod:`~mallseg.data.parsing`,
:mod:`~mallseg.data.row_checks`, :mod:`~mallseg.data.references`,
:mod:`~mallseg.data.keys`, :mod:`~mallseg.data.value_warnings`. Writing:
:mod:`~mallseg.data.merge`, :mod:`~mallseg.data.quarantine`,
:mod:`~mallseg.data.ingest_log`. Extra columns: :mod:`~mallseg.data.attributes` and
:mod:`~mallseg.data.event_attributes` (rules in :mod:`~mallseg.data.attribute_kinds`,
names in :mod:`~mallseg.data.attribute_plan`, profiles in
:mod:`~mallseg.data.attribute_profile`, storage in :mod:`~mallseg.data.attribute_store`).
The use case itself: :mod:`~mallseg.data.ingest`; folders of tables:
:mod:`~mallseg.data.folder`.
"""
