"""The canonical tables of a mall and the spellings their columns arrive under.

Every other part of mallseg speaks of these tables and columns only. A user's file is
mapped onto them at ingest (see :mod:`mallseg.data.mapping`); nothing downstream ever
sees a source spelling.

Examples
--------
>>> CANONICAL_TABLES["customers"].key
('customer_id',)
>>> CANONICAL_TABLES["transactions"].column("amount").sql_type
'DOUBLE'
>>> [c.name for c in CANONICAL_TABLES["campaigns"].required_columns()]
['campaign_id']
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "CANONICAL_TABLES",
    "PII_COLUMN_NAMES",
    "TABLE_LOAD_ORDER",
    "Column",
    "Derivation",
    "Reference",
    "Table",
]


@dataclass(frozen=True)
class Column:
    """One canonical column.

    Parameters
    ----------
    name:
        Canonical name (snake_case).
    sql_type:
        DuckDB type the value is stored as: VARCHAR, INTEGER, DOUBLE, DATE, TIMESTAMP, BOOLEAN.
    meaning:
        What the value is, with its unit, for humans (report, API docs, error messages).
    required:
        A row without a value here is rejected.
    minimum, maximum:
        Inclusive range for numbers; a value outside it rejects the row.
    allowed:
        For categorical columns, the canonical values (after normalisation).
    aliases:
        Source spellings that map onto this column automatically (compared after
        lower-casing and dropping everything but letters and digits).
    """

    name: str
    sql_type: str
    meaning: str
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[str, ...] | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reference:
    """A column whose values must exist as keys of another canonical table."""

    column: str
    table: str
    target_column: str


@dataclass(frozen=True)
class Derivation:
    """How a canonical column is computed when a file lacks it but has its inputs."""

    expression: str
    inputs: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A canonical table: its columns, key and references."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    references: tuple[Reference, ...] = ()
    derived_key: bool = False
    """When true, the key may be absent from a file and is then derived from the row content."""
    derived_columns: dict[str, Derivation] = field(default_factory=dict)
    """Canonical columns that can be computed from others when absent."""

    def column(self, name: str) -> Column:
        """Return the column called ``name``.

        Raises
        ------
        KeyError
            When the table has no such column.
        """
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"table {self.name!r} has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        """Canonical column names in table order."""
        return tuple(c.name for c in self.columns)

    def required_columns(self) -> list[Column]:
        """Columns a file must provide (the derived key excepted)."""
        return [
            c
            for c in self.columns
            if c.required and not (self.derived_key and c.name in self.key)
        ]


GENDERS = ("female", "male", "other")

CUSTOMERS = Table(
    name="customers",
    description="One row per customer (the classic 5-column mall table is this table).",
    key=("customer_id",),
    columns=(
        Column(
            "customer_id",
            "VARCHAR",
            "Pseudonymous customer identifier",
            required=True,
            aliases=("customerid", "id", "custid", "customer", "clientid", "householdid",
                     "householdkey", "memberid", "mastercustomerid", "cid"),
        ),
        Column(
            "gender",
            "VARCHAR",
            "Gender as stated by the customer: female, male or other",
            allowed=GENDERS,
            aliases=("genre", "sex"),
        ),
        Column(
            "age",
            "INTEGER",
            "Age in years",
            minimum=10,
            maximum=110,
            aliases=("ageyears", "customerage"),
        ),
        Column(
            "birth_year",
            "INTEGER",
            "Year of birth, kept as given (features compute age from it as of the data's "
            "reference date when age is absent)",
            minimum=1900,
            maximum=2030,
            aliases=("yearbirth", "yearofbirth", "birthyear"),
        ),
        Column(
            "annual_income",
            "DOUBLE",
            "Annual income in thousands of currency units (k$)",
            minimum=0,
            maximum=100_000,
            aliases=("annualincomek", "annualincome", "incomek", "annualincomekusd", "income",
                     "householdincome", "yearlyincome"),
        ),
        Column(
            "spending_score",
            "DOUBLE",
            "Spending score assigned by the mall, 1 (low) to 100 (high)",
            minimum=1,
            maximum=100,
            aliases=("spendingscore1100", "spendingscore", "score"),
        ),
        Column(
            "family_size",
            "INTEGER",
            "People in the customer's household",
            minimum=1,
            maximum=20,
            aliases=("householdsize", "familysize", "hhsize"),
        ),
        Column(
            "loyalty_tier",
            "VARCHAR",
            "Loyalty-programme tier (none, bronze, silver, gold, or the mall's own names)",
            aliases=("tier", "loyaltytier", "membership", "customertype", "loyaltylevel"),
        ),
        Column(
            "signup_date",
            "DATE",
            "Date the customer joined (loyalty programme or app)",
            aliases=("dtcustomer", "signupdate", "joindate", "joined", "registrationdate",
                     "memberssince", "membersince"),
        ),
        Column(
            "consent_marketing",
            "BOOLEAN",
            "Customer agreed to receive marketing",
            aliases=("consent", "marketingconsent", "optin", "consentmarketing"),
        ),
    ),
)

STORES = Table(
    name="stores",
    description="Tenants of the mall.",
    key=("store_id",),
    columns=(
        Column("store_id", "VARCHAR", "Store identifier", required=True,
               aliases=("storeid", "store", "shopid", "tenantid", "storecode")),
        Column("name", "VARCHAR", "Store name", aliases=("storename", "shopname", "tenant")),
        Column("category", "VARCHAR", "Store category (apparel, food, cinema, ...)",
               aliases=("storecategory", "productline", "department", "storetype")),
        Column("zone", "VARCHAR", "Zone or wing of the mall", aliases=("wing", "area", "mallzone")),
        Column("floor", "INTEGER", "Floor number", minimum=-5, maximum=200,
               aliases=("level", "storey")),
    ),
)

VISITS = Table(
    name="visits",
    description="One row per visit to the mall (Wi-Fi, app check-in, parking).",
    key=("visit_id",),
    derived_key=True,
    references=(Reference("customer_id", "customers", "customer_id"),),
    columns=(
        Column("visit_id", "VARCHAR", "Visit identifier (derived from the row when absent)",
               required=True, aliases=("visitid", "sessionid")),
        Column("customer_id", "VARCHAR", "Customer who visited", required=True,
               aliases=("customerid", "custid", "householdid", "memberid")),
        Column("entered_at", "TIMESTAMP", "When the customer entered the mall", required=True,
               aliases=("entry", "entrytime", "enteredat", "checkin", "start", "visitstart",
                        "arrival", "visitedat", "timestamp")),
        Column("left_at", "TIMESTAMP", "When the customer left (may be unknown)",
               aliases=("exit", "exittime", "leftat", "checkout", "end", "visitend",
                        "departure")),
        Column("dwell_minutes", "DOUBLE", "Minutes spent in the mall", minimum=0,
               maximum=24 * 60, aliases=("dwell", "dwelltime", "duration", "durationminutes")),
        Column("zone", "VARCHAR", "Zone where the visit was first seen",
               aliases=("entrance", "area")),
    ),
    derived_columns={
        "dwell_minutes": Derivation(
            "date_diff('second', entered_at, left_at) / 60.0", ("entered_at", "left_at")
        ),
    },
)

TRANSACTIONS = Table(
    name="transactions",
    description="One row per purchase (receipt line or receipt) by a known customer.",
    key=("transaction_id",),
    derived_key=True,
    references=(
        Reference("customer_id", "customers", "customer_id"),
        Reference("store_id", "stores", "store_id"),
        Reference("campaign_id", "campaigns", "campaign_id"),
    ),
    columns=(
        Column("transaction_id", "VARCHAR",
               "Receipt line identifier (derived from the row when absent)", required=True,
               aliases=("transactionid", "receiptid", "lineid")),
        Column("customer_id", "VARCHAR", "Customer who bought", required=True,
               aliases=("customerid", "custid", "householdid", "memberid")),
        Column("store_id", "VARCHAR", "Store where it was bought (may be unknown)",
               aliases=("storeid", "store", "shopid", "shoppingmall")),
        Column("purchased_at", "TIMESTAMP", "When it was bought", required=True,
               aliases=("invoicedate", "timestamp", "datetime", "transactiontimestamp",
                        "purchasedat", "date", "transactiondate", "time")),
        Column("amount", "DOUBLE", "Amount paid in currency units (negative for a return)",
               required=True, minimum=-1_000_000, maximum=1_000_000,
               aliases=("total", "salesvalue", "dollarvalue", "value", "spend", "revenue",
                        "amountpaid")),
        Column("quantity", "DOUBLE", "Items bought", minimum=-100_000, maximum=100_000,
               aliases=("qty", "items", "numberofcds", "units")),
        Column("unit_price", "DOUBLE", "Price of one item (amount is derived when absent)",
               minimum=-1_000_000, maximum=1_000_000,
               aliases=("unitprice", "itemprice")),
        Column("basket_id", "VARCHAR", "Receipt or basket the line belongs to",
               aliases=("invoiceno", "invoice", "basketid", "receipt", "invoiceid", "orderid")),
        Column("category", "VARCHAR", "Product category of the line, when the receipt has it",
               aliases=("productcategory", "productline")),
        Column("campaign_id", "VARCHAR", "Campaign whose offer was used (may be empty)",
               aliases=("promotionid", "campaignid", "promoid", "offerid")),
    ),
    derived_columns={"amount": Derivation("quantity * unit_price", ("quantity", "unit_price"))},
)

CAMPAIGNS = Table(
    name="campaigns",
    description="Promotions and loyalty offers.",
    key=("campaign_id",),
    columns=(
        Column("campaign_id", "VARCHAR", "Campaign identifier", required=True,
               aliases=("campaignid", "campaign", "promotionid", "promoid")),
        Column("name", "VARCHAR", "Campaign name", aliases=("campaignname", "title")),
        Column("channel", "VARCHAR", "Channel: email, sms, app, mail, in-mall, ...",
               aliases=("medium", "campaigntype", "type")),
        Column("start_date", "DATE", "First day of the campaign",
               aliases=("startdate", "start", "startday", "begin")),
        Column("end_date", "DATE", "Last day of the campaign",
               aliases=("enddate", "end", "endday", "finish")),
        Column("offer", "VARCHAR", "What was offered", aliases=("description", "offertext")),
        Column("target_category", "VARCHAR", "Store category the offer is for",
               aliases=("category", "targetcategory")),
    ),
)

EXPOSURES = Table(
    name="exposures",
    description="Who was targeted by a campaign, who was held out, who responded.",
    key=("campaign_id", "customer_id"),
    references=(
        Reference("customer_id", "customers", "customer_id"),
        Reference("campaign_id", "campaigns", "campaign_id"),
    ),
    columns=(
        Column("campaign_id", "VARCHAR", "Campaign", required=True,
               aliases=("campaignid", "campaign", "promotionid")),
        Column("customer_id", "VARCHAR", "Customer targeted or held out", required=True,
               aliases=("customerid", "custid", "householdid", "memberid")),
        Column("sent_at", "TIMESTAMP", "When the offer was sent (or would have been, for holdout)",
               aliases=("sentat", "sent", "exposedat", "sendtime")),
        Column("is_holdout", "BOOLEAN", "Customer was held out as control (offer not sent)",
               aliases=("holdout", "control", "iscontrol", "controlgroup", "isholdout")),
        Column("responded", "BOOLEAN", "Customer responded (opened, clicked or visited)",
               aliases=("response", "accepted", "converted")),
        Column("redeemed_at", "TIMESTAMP", "When the offer was redeemed (empty if never)",
               aliases=("redeemedat", "redemptiondate", "redeemed", "redemptiontime")),
    ),
)

CANONICAL_TABLES: dict[str, Table] = {
    t.name: t for t in (CUSTOMERS, STORES, VISITS, TRANSACTIONS, CAMPAIGNS, EXPOSURES)
}
"""The six canonical tables by name."""

TABLE_LOAD_ORDER: tuple[str, ...] = (
    "customers",
    "stores",
    "campaigns",
    "visits",
    "transactions",
    "exposures",
)
"""An order in which references are always satisfied."""

PII_COLUMN_NAMES: frozenset[str] = frozenset(
    {
        "name", "firstname", "lastname", "fullname", "surname", "customername", "clientname",
        "username", "email", "emailaddress", "customeremail", "mail", "phone", "phonenumber",
        "mobile", "mobilephone", "mobilenumber", "cellphone", "telephone", "tel", "fax",
        "address", "street", "streetaddress", "postcode", "postalcode", "zipcode", "zip",
        "ssn", "nationalid", "passport", "passportnumber", "taxid", "dateofbirth",
        "birthdate", "birthday", "dob", "creditcard", "cardnumber", "iban", "accountnumber",
        "ipaddress", "notes", "comments",
    }
)
"""Common normalised names of columns that carry personal data: never stored, never features.

Ingest recognises many more spellings, and personal values under any name, with
:func:`mallseg.core.personal_data.personal_data_reason`; this set is for later stages that
only see column names."""
