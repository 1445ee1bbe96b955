"""The synthetic mall: layout, schema, determinism, published figures and recoverable truth."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import StandardScaler

from mallseg.core.schema import CANONICAL_TABLES
from mallseg.datasets.simulate import (
    CATEGORIES,
    DEFAULT_PERSONAS,
    INPUT_TABLES,
    TRUTH_TABLES,
    DriftSpec,
    parse_drift,
    select_personas,
    simulate_mall,
)
from mallseg.datasets.simulate.calendar import (
    black_friday,
    holiday_mask,
    mall_season,
    period_dates,
    persona_intensity,
)
from mallseg.datasets.simulate.writer import canonical_arrow_schema

DUCKDB_TYPES = {"VARCHAR": "VARCHAR", "INTEGER": "INTEGER", "DOUBLE": "DOUBLE",
                "DATE": "DATE", "TIMESTAMP": "TIMESTAMP", "BOOLEAN": "BOOLEAN"}


def connect(folder: Path, ext: str = "parquet") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with a view per input table and per truth table."""
    con = duckdb.connect()
    reader = "read_parquet" if ext == "parquet" else "read_csv_auto"
    for table in INPUT_TABLES:
        source = f"{reader}('{folder}/inputs/{table}/*.{ext}')"
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM {source}")
    for table in TRUTH_TABLES:
        con.execute(
            f"CREATE VIEW truth_{table} AS SELECT * FROM {reader}('{folder}/truth/{table}/*.{ext}')"
        )
    return con


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All eight personas, three chunks, a few campaigns."""
    out = tmp_path_factory.mktemp("small") / "mall"
    simulate_mall(out, customers=3_000, days=120, seed=11, chunk_customers=1_000)
    return out


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full calendar year of all eight personas, for the published roll-ups."""
    out = tmp_path_factory.mktemp("year") / "mall"
    simulate_mall(out, customers=8_000, days=365, seed=5)
    return out


# --- personas and arguments -------------------------------------------------------------

def test_default_personas_are_the_mall_facts_table_in_the_agreed_order() -> None:
    names = [p.name for p in DEFAULT_PERSONAS]
    assert names == ["mall_enthusiast", "mission_shopper", "family_traditionalist",
                     "teen_grazer", "affluent_destination", "senior_leisure", "deal_hunter",
                     "dine_and_entertain"]
    assert sum(p.share for p in DEFAULT_PERSONAS) == pytest.approx(1.0)
    facts = {"mall_enthusiast": (0.12, 5, 110, 130), "mission_shopper": (0.22, 1.5, 40, 100),
             "teen_grazer": (0.12, 4.5, 95, 35), "affluent_destination": (0.08, 2, 75, 200)}
    for p in DEFAULT_PERSONAS:
        if p.name in facts:
            assert (p.share, p.visits_per_month, p.dwell_mean_minutes,
                    p.spend_per_visit) == facts[p.name]
        assert set(p.category_tastes) <= set(CATEGORIES)
    deal = DEFAULT_PERSONAS[6]
    assert deal.redemption_rate == max(p.redemption_rate for p in DEFAULT_PERSONAS)


def test_personas_argument_takes_a_count_names_or_none() -> None:
    assert len(select_personas(None)) == 8
    assert [p.name for p in select_personas(6)][-1] == "senior_leisure"
    assert [p.name for p in select_personas(["teen_grazer"])] == ["teen_grazer"]
    for bad in (0, 9, ["nobody"], ["teen_grazer", "teen_grazer"], "teen_grazer", []):
        with pytest.raises(ValueError):
            select_personas(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "expected"), [
    ("none", DriftSpec("none", 0.0)),
    ("mix:0.5", DriftSpec("mix", 0.5)),
    ("behaviour:0.3", DriftSpec("behaviour", 0.3)),
    ("Behavior:1", DriftSpec("behaviour", 1.0)),
    ("mix", DriftSpec("mix", 0.5)),
    (None, DriftSpec("none", 0.0)),
])
def test_parse_drift_reads_kind_and_strength(text: str | None, expected: DriftSpec) -> None:
    assert parse_drift(text) == expected


@pytest.mark.parametrize("text", ["season:1", "mix:-1", "mix:abc", "none:2", "mix:nan"])
def test_parse_drift_rejects_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError, match="drift"):
        parse_drift(text)


@pytest.mark.parametrize("kwargs", [
    {"customers": 0}, {"days": 0}, {"seed": -1}, {"chunk_customers": 0},
    {"file_format": "xlsx"}, {"personas": 12}, {"drift": "wobble"},
])
def test_bad_arguments_raise_a_value_error_naming_them(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        simulate_mall(tmp_path, **{"customers": 10, "days": 10, **kwargs})


# --- layout, schema and integrity -----------------------------------------------------

def test_every_table_is_a_folder_of_parts_and_truth_is_kept_apart(small: Path) -> None:
    for table in INPUT_TABLES:
        parts = sorted((small / "inputs" / table).glob("part-*.parquet"))
        assert parts, table
    assert len(list((small / "inputs" / "visits").glob("*.parquet"))) == 3  # one per chunk
    for table in TRUTH_TABLES:
        assert list((small / "truth" / table).glob("part-*.parquet")), table
    assert (small / "simulation.json").exists()


def test_inputs_have_exactly_the_canonical_columns_and_types(small: Path) -> None:
    con = connect(small)
    for table in INPUT_TABLES:
        spec = CANONICAL_TABLES[table]
        described = con.execute(f"DESCRIBE {table}").fetchall()
        assert [row[0] for row in described] == list(spec.column_names), table
        for row, column in zip(described, spec.columns, strict=True):
            assert row[1] == DUCKDB_TYPES[column.sql_type], (table, column.name, row[1])
        for part in (small / "inputs" / table).glob("*.parquet"):
            assert pq.read_schema(part).remove_metadata() == canonical_arrow_schema(table)


def test_no_truth_column_leaks_into_the_inputs(small: Path) -> None:
    truth_words = {"persona", "uplift", "latent", "churned_on", "true_"}
    for table in INPUT_TABLES:
        names = canonical_arrow_schema(table).names
        assert not any(w in n for n in names for w in truth_words), table
    con = connect(small)
    personas = {p.name for p in DEFAULT_PERSONAS}
    labels = {p.label for p in DEFAULT_PERSONAS}
    for table in INPUT_TABLES:
        for (column,) in con.execute(
            f"SELECT column_name FROM (DESCRIBE {table}) WHERE column_type = 'VARCHAR'"
        ).fetchall():
            sql = f"SELECT DISTINCT {column} FROM {table}"
            values = {v for (v,) in con.execute(sql).fetchall()}
            assert not values & (personas | labels), (table, column)


def test_every_reference_in_the_events_exists(small: Path) -> None:
    con = connect(small)
    orphans = {
        "visit customer": "SELECT count(*) FROM visits v ANTI JOIN customers c USING (customer_id)",
        "tx customer": "SELECT count(*) FROM transactions ANTI JOIN customers USING (customer_id)",
        "tx store": "SELECT count(*) FROM transactions t ANTI JOIN stores s USING (store_id)",
        "tx campaign": "SELECT count(*) FROM transactions ANTI JOIN campaigns USING (campaign_id) "
                       "WHERE campaign_id IS NOT NULL",
        "tx basket": "SELECT count(*) FROM transactions t ANTI JOIN visits v "
                     "ON t.basket_id = 'B' || substr(v.visit_id, 2)",
        "exposure customer": "SELECT count(*) FROM exposures ANTI JOIN customers "
                             "USING (customer_id)",
        "exposure campaign": "SELECT count(*) FROM exposures ANTI JOIN campaigns "
                             "USING (campaign_id)",
        "truth customer": "SELECT count(*) FROM truth_customer_personas ANTI JOIN customers "
                          "USING (customer_id)",
    }
    for what, sql in orphans.items():
        assert con.execute(sql).fetchone() == (0,), what
    for table, key in (("customers", "customer_id"), ("stores", "store_id"),
                       ("campaigns", "campaign_id"), ("visits", "visit_id"),
                       ("transactions", "transaction_id")):
        sql = f"SELECT count(*) = count(DISTINCT {key}) FROM {table}"
        assert con.execute(sql).fetchone() == (True,)
    assert con.execute("SELECT count(*) = count(DISTINCT (campaign_id, customer_id)) "
                       "FROM exposures").fetchone() == (True,)


def test_customers_look_like_a_loyalty_file(small: Path) -> None:
    con = connect(small)
    row = con.execute("""
        SELECT count(*), min(customer_id), max(customer_id),
               bool_and(regexp_full_match(customer_id, 'C[0-9]{7}')),
               bool_and(age + birth_year = 2026), min(age), max(age),
               bool_and(spending_score BETWEEN 1 AND 100
                        AND spending_score = round(spending_score)),
               bool_and(annual_income = round(annual_income, 1) AND annual_income > 0),
               bool_and(family_size >= 1),
               avg(consent_marketing::INT),
               avg((signup_date >= DATE '2026-01-01')::INT),
               min(signup_date) < DATE '2025-01-01'
        FROM customers""").fetchone()
    assert row[:4] == (3000, "C0000001", "C0003000", True)
    assert row[4] and row[5] >= 14 and row[6] <= 85
    assert row[7] and row[8] and row[9]
    assert 0.65 <= row[10] <= 0.75
    assert 0.03 <= row[11] <= 0.15 and row[12]
    genders = dict(con.execute("SELECT gender, count(*) FROM customers GROUP BY 1").fetchall())
    assert set(genders) == {"female", "male", "other"} and genders["other"] < 0.06 * 3000
    tiers = {t for (t,) in con.execute("SELECT DISTINCT loyalty_tier FROM customers").fetchall()}
    assert tiers == {"none", "bronze", "silver", "gold"}


def test_stores_and_campaigns_describe_a_plausible_mall(small: Path) -> None:
    con = connect(small)
    n, cats, zones = con.execute(
        "SELECT count(*), list(DISTINCT category), list(DISTINCT zone) FROM stores").fetchone()
    assert 100 <= n <= 140
    assert set(cats) == set(CATEGORIES)
    assert {"north", "south", "east", "west", "food_court", "entertainment"} == set(zones)
    camps = con.execute("SELECT channel, start_date, end_date, target_category FROM campaigns "
                        "ORDER BY campaign_id").fetchall()
    assert len(camps) == 6
    for channel, start, end, category in camps:
        assert channel in {"email", "sms", "app", "direct_mail", "in_mall"}
        assert date(2026, 1, 1) <= start <= end <= date(2026, 4, 30)
        assert category in CATEGORIES
    # windows do not overlap, so one campaign's holdout is not another's treatment window
    assert all(a[2] < b[1] for a, b in itertools.pairwise(camps))


def test_visits_and_purchases_are_consistent(small: Path) -> None:
    con = connect(small)
    bad_visits = con.execute("""
        SELECT count(*) FILTER (
                 WHERE abs(dwell_minutes - date_diff('second', entered_at, left_at) / 60.0) > 1e-9),
               count(*) FILTER (WHERE dwell_minutes < 5 OR left_at::DATE <> entered_at::DATE),
               count(*) FILTER (WHERE entered_at < TIMESTAMP '2026-01-01'
                                   OR entered_at >= TIMESTAMP '2026-05-01')
        FROM visits""").fetchone()
    assert bad_visits == (0, 0, 0)
    overlaps = con.execute("""
        SELECT count(*) FROM (
          SELECT entered_at, lag(left_at) OVER (PARTITION BY customer_id ORDER BY entered_at) prev
          FROM visits) WHERE entered_at < prev""").fetchone()
    assert overlaps == (0,)
    outside = con.execute("""
        SELECT count(*) FROM transactions t JOIN visits v
          ON t.basket_id = 'B' || substr(v.visit_id, 2)
        WHERE t.customer_id <> v.customer_id OR t.purchased_at < v.entered_at
           OR t.purchased_at > v.left_at""").fetchone()
    assert outside == (0,)
    money = con.execute("""
        SELECT bool_and(abs(amount - quantity * unit_price) < 0.005),
               bool_and(quantity >= 1 AND quantity = round(quantity) AND amount > 0),
               bool_and(t.category = s.category)
        FROM transactions t JOIN stores s USING (store_id)""").fetchone()
    assert money == (True, True, True)


def test_exposures_hold_out_a_tenth_and_redeem_only_treated_responders(small: Path) -> None:
    con = connect(small)
    holdout, bad_redeem, outside, unmatched = con.execute("""
        SELECT avg(is_holdout::INT),
               count(*) FILTER (WHERE redeemed_at IS NOT NULL AND (is_holdout OR NOT responded)),
               count(*) FILTER (WHERE redeemed_at IS NOT NULL AND
                                (redeemed_at < c.start_date OR redeemed_at >= c.end_date + 1
                                 OR redeemed_at <= sent_at)),
               (SELECT count(*) FROM exposures e2 WHERE redeemed_at IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM transactions t WHERE t.campaign_id = e2.campaign_id
                   AND t.customer_id = e2.customer_id AND t.purchased_at = e2.redeemed_at))
        FROM exposures e JOIN campaigns c USING (campaign_id)""").fetchone()
    assert 0.08 <= holdout <= 0.12
    assert (bad_redeem, outside, unmatched) == (0, 0, 0)
    stamped = con.execute(
        "SELECT count(*) FROM transactions WHERE campaign_id IS NOT NULL").fetchone()
    redeemed = con.execute(
        "SELECT count(*) FROM exposures WHERE redeemed_at IS NOT NULL").fetchone()
    assert stamped == redeemed and stamped[0] > 0
    eligible = con.execute("""
        SELECT count(*) FROM exposures e JOIN customers c USING (customer_id)
        JOIN campaigns k USING (campaign_id)
        WHERE NOT c.consent_marketing OR c.signup_date >= k.start_date""").fetchone()
    assert eligible == (0,)


# --- determinism -------------------------------------------------------------------------

def test_same_arguments_give_byte_identical_files(tmp_path: Path) -> None:
    args = {"customers": 1_500, "days": 40, "seed": 4, "drift": "behaviour:0.4"}
    simulate_mall(tmp_path / "a", **args)
    simulate_mall(tmp_path / "b", **args)
    files = sorted(p.relative_to(tmp_path / "a")
                   for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) == len(INPUT_TABLES) + len(TRUTH_TABLES) + 1
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    simulate_mall(tmp_path / "c", **{**args, "seed": 5})
    assert ((tmp_path / "a/inputs/visits/part-00000.parquet").read_bytes()
            != (tmp_path / "c/inputs/visits/part-00000.parquet").read_bytes())


def test_rows_do_not_depend_on_the_chunk_size(tmp_path: Path) -> None:
    simulate_mall(tmp_path / "one", customers=2_500, days=45, seed=9, chunk_customers=50_000)
    simulate_mall(tmp_path / "many", customers=2_500, days=45, seed=9, chunk_customers=1_000)
    assert len(list((tmp_path / "many/inputs/visits").glob("*.parquet"))) == 3
    for table in (*INPUT_TABLES, *(f"../truth/{t}" for t in TRUTH_TABLES)):
        one = pq.ParquetDataset(tmp_path / "one" / "inputs" / table).read()
        many = pq.ParquetDataset(tmp_path / "many" / "inputs" / table).read()
        assert one.equals(many), table


def test_rerun_replaces_earlier_parts_and_reports_progress(tmp_path: Path) -> None:
    simulate_mall(tmp_path, customers=3_000, days=20, seed=1, chunk_customers=1_000)
    calls: list[tuple[int, int]] = []
    summary = simulate_mall(tmp_path, customers=2_200, days=20, seed=1,
                            chunk_customers=2_000, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(2_000, 2_200), (2_200, 2_200)]
    assert len(list((tmp_path / "inputs/customers").glob("*.parquet"))) == 2
    con = connect(tmp_path)
    assert con.execute("SELECT count(*) FROM customers").fetchone() == (2_200,)
    assert summary.rows["customers"] == 2_200 and summary.seconds > 0
    assert summary.rows["visits"] == con.execute("SELECT count(*) FROM visits").fetchone()[0]


def test_csv_output_has_the_same_rows_with_a_header_in_every_part(tmp_path: Path) -> None:
    simulate_mall(tmp_path / "pq", customers=2_000, days=30, seed=2, chunk_customers=1_000)
    simulate_mall(tmp_path / "csv", customers=2_000, days=30, seed=2, chunk_customers=1_000,
                  file_format="csv")
    for part in (tmp_path / "csv/inputs/visits").glob("*.csv"):
        assert part.read_text().startswith('"visit_id","customer_id","entered_at"')
    pq_con, csv_con = connect(tmp_path / "pq"), connect(tmp_path / "csv", "csv")
    for table in INPUT_TABLES:
        sql = f"SELECT count(*) FROM {table}"
        assert pq_con.execute(sql).fetchone() == csv_con.execute(sql).fetchone(), table
    sql = "SELECT sum(amount), min(purchased_at), count(campaign_id) FROM transactions"
    a, b = pq_con.execute(sql).fetchone(), csv_con.execute(sql).fetchone()
    assert a[0] == pytest.approx(b[0]) and a[1:] == b[1:]


# --- calibration to the published figures ------------------------------------------------

def test_holiday_season_is_about_57_percent_above_the_rest_of_the_year() -> None:
    assert black_friday(2026) == date(2026, 11, 27)
    days = period_dates(date(2026, 1, 1), 365)
    holiday = holiday_mask(days)
    assert holiday.sum() == 35
    # the mall's visits: every persona's intensity weighted by its share of visits
    visits = sum(p.share * p.visits_per_month * persona_intensity(p, days)
                 for p in DEFAULT_PERSONAS)
    assert visits[holiday].mean() / visits[~holiday].mean() == pytest.approx(1.57, abs=0.06)
    season = mall_season(days)
    assert season.argmax() == days.index(black_friday(2026))
    assert season[:59].mean() < season[180:243].mean()  # winter dip, summer rise
    for persona in DEFAULT_PERSONAS:
        assert persona_intensity(persona, days).mean() == pytest.approx(1.0)


def test_rolled_up_figures_land_in_the_published_ranges(year: Path) -> None:
    con = connect(year)
    visits_per_month = con.execute("""
        WITH active AS (
          SELECT greatest(c.signup_date, DATE '2026-01-01') a,
                 coalesce(t.churned_on, DATE '2027-01-01') e
          FROM customers c JOIN truth_customer_personas t USING (customer_id))
        SELECT (SELECT count(*) FROM visits) / sum(date_diff('day', a, e)) * 30.4375
        FROM active""").fetchone()[0]
    assert 2.4 <= visits_per_month <= 3.2  # facts: about 2.8
    dwell, weekend, morning, midday, afternoon, evening = con.execute("""
        SELECT avg(dwell_minutes), avg((dayofweek(entered_at) IN (0, 6))::INT),
               avg((hour(entered_at) < 12)::INT), avg((hour(entered_at) BETWEEN 12 AND 14)::INT),
               avg((hour(entered_at) BETWEEN 15 AND 17)::INT), avg((hour(entered_at) >= 18)::INT)
        FROM visits""").fetchone()
    assert 80 <= dwell <= 95  # facts: 75-90 a visit, about 88 weighted by visits
    assert 0.36 <= weekend <= 0.42  # indoor malls 39%
    assert midday == pytest.approx(0.27, abs=0.04)
    assert afternoon == pytest.approx(0.29, abs=0.04)
    assert evening == pytest.approx(0.25, abs=0.04)
    assert morning == pytest.approx(0.19, abs=0.06)
    spend, purchase_share, stores_per_trip, median_ratio = con.execute("""
        WITH b AS (SELECT basket_id, sum(amount) s, count(*) n FROM transactions GROUP BY 1)
        SELECT (SELECT sum(amount) FROM transactions) / (SELECT count(*) FROM visits),
               count(*) / (SELECT count(*) FROM visits), avg(n), median(s) / avg(s)
        FROM b""").fetchone()
    assert 85 <= spend <= 110  # facts: $85-105 a visit
    assert 0.5 <= purchase_share <= 0.8
    assert 1.5 <= stores_per_trip <= 2.5  # about 2 stores a trip
    assert 0.45 <= median_ratio <= 0.75  # right-skewed: median about half the mean
    established = con.execute("""
        WITH est AS (SELECT customer_id FROM truth_customer_personas
                     WHERE NOT signed_up_in_period AND churned_on IS NULL),
        d AS (SELECT entered_at::DATE >= DATE '2026-11-27' hol,
                     count(*) / count(DISTINCT entered_at::DATE) per_day
              FROM visits JOIN est USING (customer_id) GROUP BY 1)
        SELECT max(per_day) FILTER (WHERE hol) / max(per_day) FILTER (WHERE NOT hol)
        FROM d""").fetchone()[0]
    assert established == pytest.approx(1.57, abs=0.12)


def test_persona_shares_and_truth_tables_match_the_parameters(year: Path) -> None:
    con = connect(year)
    rows = con.execute(
        "SELECT persona, share, realised_share, customers FROM truth_personas").fetchall()
    assert [r[0] for r in rows] == [p.name for p in DEFAULT_PERSONAS]
    for _, share, realised, _ in rows:
        assert realised == pytest.approx(share, abs=0.02)
    assert sum(r[3] for r in rows) == 8_000
    drift = con.execute("SELECT DISTINCT kind, strength FROM truth_drift").fetchall()
    assert drift == [("none", 0.0)]


# --- recoverable truth -------------------------------------------------------------------

def behavioural_features(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """The behavioural lens computed in plain SQL: visits, hours, weekend, basket, stores,
    spend shares; money and counts log1p'd; customers without visits left out."""
    con = connect(folder)
    sql = "SELECT DISTINCT category FROM stores ORDER BY 1"
    categories = [c for (c,) in con.execute(sql).fetchall()]
    shares = ", ".join(
        f"coalesce(sum(amount) FILTER (WHERE category = '{c}'), 0) / sum(amount) AS s_{c}"
        for c in categories)
    frame = con.execute(f"""
        WITH v AS (
          SELECT customer_id, count(*) n, avg(dwell_minutes) dwell,
                 avg((hour(entered_at) < 12)::INT) morning,
                 avg((hour(entered_at) BETWEEN 12 AND 14)::INT) midday,
                 avg((hour(entered_at) BETWEEN 15 AND 17)::INT) afternoon,
                 avg((hour(entered_at) >= 18)::INT) evening,
                 avg((dayofweek(entered_at) IN (0, 6))::INT) weekend
          FROM visits GROUP BY 1),
        t AS (SELECT customer_id, sum(amount) / count(DISTINCT basket_id) basket,
                     count(DISTINCT store_id) stores, {shares}
              FROM transactions GROUP BY 1)
        SELECT p.persona,
               ln(1 + v.n / ((date_diff('day', greatest(c.signup_date, DATE '2026-01-01'),
                                        DATE '2026-07-01') + 1) / 30.4375)) visits_per_month,
               dwell, morning, midday, afternoon, evening, weekend,
               ln(1 + coalesce(basket, 0)) basket, ln(1 + coalesce(stores, 0)) stores,
               t.* EXCLUDE (customer_id, basket, stores)
        FROM customers c JOIN v USING (customer_id) LEFT JOIN t USING (customer_id)
        JOIN truth_customer_personas p USING (customer_id)
        ORDER BY c.customer_id""").df()
    x = frame.drop(columns=["persona"]).fillna(0.0).to_numpy()
    return StandardScaler().fit_transform(x), frame["persona"].to_numpy()


def test_kmeans_on_behaviour_recovers_the_six_personas(tmp_path: Path) -> None:
    # At the acceptance size (20,000 x 182 days) the ARI is about 0.97; this smaller run
    # keeps the test fast and must still clear 0.9.
    simulate_mall(tmp_path, customers=6_000, days=182, seed=1, personas=6)
    x, personas = behavioural_features(tmp_path)
    assert len(personas) >= 0.97 * 6_000
    labels = {k: KMeans(k, n_init=10, random_state=0).fit_predict(x) for k in (4, 5, 6, 7, 8)}
    assert adjusted_rand_score(personas, labels[6]) >= 0.90
    sil = {k: silhouette_score(x, lab, sample_size=4_000, random_state=0)
           for k, lab in labels.items()}
    assert max(sil, key=sil.get) == 6, sil  # type: ignore[arg-type]


def test_treated_minus_holdout_window_spend_recovers_the_true_uplift(tmp_path: Path) -> None:
    simulate_mall(tmp_path, customers=30_000, days=182, seed=2)
    con = connect(tmp_path)
    rows = con.execute("""
        WITH w AS (
          SELECT e.campaign_id, e.is_holdout, coalesce(sum(t.amount), 0) spend
          FROM exposures e JOIN campaigns c USING (campaign_id)
          LEFT JOIN transactions t ON t.customer_id = e.customer_id
           AND t.purchased_at >= c.start_date AND t.purchased_at < c.end_date + 1
          GROUP BY e.campaign_id, e.customer_id, e.is_holdout),
        est AS (
          SELECT campaign_id,
                 avg(spend) FILTER (WHERE NOT is_holdout)
                 - avg(spend) FILTER (WHERE is_holdout) diff,
                 var_samp(spend) FILTER (WHERE NOT is_holdout)
                 / count(*) FILTER (WHERE NOT is_holdout)
                 + var_samp(spend) FILTER (WHERE is_holdout)
                 / count(*) FILTER (WHERE is_holdout) var
          FROM w GROUP BY 1),
        truth AS (
          SELECT campaign_id, sum(n_treated * true_uplift_spend) / sum(n_treated) uplift,
                 sum(n_treated * realised_uplift_spend) / sum(n_treated) realised
          FROM truth_campaign_uplift GROUP BY 1)
        SELECT diff, var, uplift, realised FROM est JOIN truth USING (campaign_id)""").fetchall()
    diff, var, truth, realised = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    assert np.all(np.abs(realised - truth) < 0.5 * truth + 1.0)
    weight = 1 / var
    pooled = float((weight * diff).sum() / weight.sum())
    pooled_truth = float((weight * truth).sum() / weight.sum())
    pooled_se = float(np.sqrt(1 / weight.sum()))
    assert abs(pooled - pooled_truth) < 3 * pooled_se, (pooled, pooled_truth, pooled_se)
    assert pooled > 2 * pooled_se  # the uplift is real and visible
    assert np.all(np.abs(diff - truth) < 4 * np.sqrt(var))
    by_persona = dict(con.execute("""
        SELECT persona, sum(n_treated * true_uplift_spend) / sum(n_treated)
        FROM truth_campaign_uplift GROUP BY 1""").fetchall())
    redemption = dict(con.execute("""
        SELECT persona, sum(n_treated * realised_redemption_rate) / sum(n_treated)
        FROM truth_campaign_uplift GROUP BY 1""").fetchall())
    assert min(by_persona, key=by_persona.get) == "deal_hunter"  # type: ignore[arg-type]
    assert max(redemption, key=redemption.get) == "deal_hunter"  # type: ignore[arg-type]


def test_mix_drift_shifts_the_persona_shares_of_new_sign_ups(tmp_path: Path) -> None:
    def late_minus_early(folder: Path) -> float:
        con = connect(folder)
        early, late = con.execute("""
            SELECT avg((p.persona IN ('teen_grazer', 'deal_hunter'))::INT)
                     FILTER (WHERE c.signup_date < DATE '2026-05-01'),
                   avg((p.persona IN ('teen_grazer', 'deal_hunter'))::INT)
                     FILTER (WHERE c.signup_date >= DATE '2026-09-01')
            FROM customers c JOIN truth_customer_personas p USING (customer_id)
            WHERE p.signed_up_in_period""").fetchone()
        return late - early

    simulate_mall(tmp_path / "none", customers=12_000, days=365, seed=3)
    simulate_mall(tmp_path / "mix", customers=12_000, days=365, seed=3, drift="mix:1")
    assert abs(late_minus_early(tmp_path / "none")) < 0.06
    assert late_minus_early(tmp_path / "mix") > 0.15
    con = connect(tmp_path / "mix")
    rows = dict(con.execute("SELECT persona, signup_share_end - signup_share_start "
                            "FROM truth_drift WHERE kind = 'mix' AND strength = 1").fetchall())
    assert rows["teen_grazer"] > 0 and rows["senior_leisure"] < 0
    # customers who joined before the period keep the original mix
    old = dict(con.execute("""SELECT persona, count(*) FROM truth_customer_personas
                              WHERE NOT signed_up_in_period GROUP BY 1""").fetchall())
    total = sum(old.values())
    assert old["teen_grazer"] / total == pytest.approx(0.12, abs=0.02)


def test_behaviour_drift_changes_visit_rates_of_existing_customers(tmp_path: Path) -> None:
    def late_over_early(folder: Path, persona: str) -> float:
        con = connect(folder)
        early, late = con.execute(f"""
            SELECT count(*) FILTER (WHERE entered_at < TIMESTAMP '2026-03-01'),
                   count(*) FILTER (WHERE entered_at >= TIMESTAMP '2026-04-01')
            FROM visits JOIN truth_customer_personas p USING (customer_id)
            WHERE p.persona = '{persona}' AND NOT p.signed_up_in_period
              AND p.churned_on IS NULL""").fetchone()
        return late / early

    for drift in ("none", "behaviour:1"):
        simulate_mall(tmp_path / drift, customers=5_000, days=120, seed=4, drift=drift,
                      personas=["mall_enthusiast", "dine_and_entertain"])
    none, drifted = tmp_path / "none", tmp_path / "behaviour:1"
    # enthusiasts come less often (visit_drift -0.8), diners more often (+0.6)
    enthusiast, diner = "mall_enthusiast", "dine_and_entertain"
    assert late_over_early(drifted, enthusiast) < 0.8 * late_over_early(none, enthusiast)
    assert late_over_early(drifted, diner) > 1.2 * late_over_early(none, diner)
    con = connect(drifted)
    assert con.execute("SELECT DISTINCT kind FROM truth_drift").fetchall() == [("behaviour",)]
