"""Personal data is recognised by its column name and by its values."""

from __future__ import annotations

import pytest

from mallseg.core.personal_data import (
    looks_like_card_number,
    looks_like_email,
    looks_like_iban,
    looks_like_phone,
    passes_luhn,
    personal_data_name_reason,
    personal_data_reason,
)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("customer_email", "e-mail address"),
        ("E-Mail", "e-mail address"),
        ("mobile_phone", "phone number"),
        ("MobileNumber", "phone number"),
        ("tel", "phone number"),
        ("Tel.No", "phone number"),
        ("first_name", "name"),
        ("LastName", "name"),
        ("Full Name", "name"),
        ("name", "name"),
        ("surname", "name"),
        ("street_address", "postal address"),
        ("Postcode", "postal address"),
        ("ZIP", "postal address"),
        ("zip_code", "postal address"),
        ("card_number", "payment card number"),
        ("CreditCard", "payment card number"),
        ("IBAN", "bank account number"),
        ("account_no", "bank account number"),
        ("SSN", "national identity number"),
        ("national_id", "national identity number"),
        ("passport_no", "national identity number"),
        ("tax_id", "national identity number"),
        ("date_of_birth", "date of birth"),
        ("DOB", "date of birth"),
        ("Birthdate", "date of birth"),
        ("notes", "free text about the person"),
        ("Comments", "free text about the person"),
    ],
)
def test_names_that_say_personal_data(name: str, kind: str) -> None:
    assert personal_data_name_reason(name) == f"personal data: the name says {kind}"


@pytest.mark.parametrize(
    "name",
    ["store_name", "campaign_name", "MntHeadphones", "uses_mobile_app", "hotel_nights",
     "Year_Birth", "zipped_files", "cancellation_count", "Recency", "Telemetry",
     "MntWines", "NumWebPurchases", "loyalty_card_tier", "Dt_Customer"],
)
def test_names_that_do_not(name: str) -> None:
    assert personal_data_name_reason(name) is None


def test_luhn_against_published_test_numbers() -> None:
    # the standard test card numbers of the card networks pass, one digit changed fails
    for number in ("4111111111111111", "5500005555555559", "378282246310005",
                   "6011111111111117", "4012888888881881"):
        assert passes_luhn(number)
    assert not passes_luhn("4111111111111121")
    assert looks_like_card_number("3782 822463 10005")
    assert not looks_like_card_number("4111 1111 1111 1112")
    assert not looks_like_card_number("411111111111")  # 12 digits: too short


def test_iban_mod_97_against_published_examples() -> None:
    for iban in ("GB82 WEST 1234 5698 7654 32", "DE89370400440532013000",
                 "FR1420041010050500013M02606", "TR330006100519786457841326"):
        assert looks_like_iban(iban)
    assert not looks_like_iban("GB82 WEST 1234 5698 7654 33")


@pytest.mark.parametrize(
    ("value", "email", "phone"),
    [
        ("ann.lee@example.org", True, False),
        ("ann@localhost", False, False),
        ("+90 532 123 45 67", False, True),
        ("(030) 1234-5678", False, True),
        ("0151 2345678", False, True),
        ("02071234567", False, True),
        ("2024-01-31", False, False),
        ("31.01.2024", False, False),
        ("17850", False, False),
        ("1234.5678", False, False),
        ("C0000042", False, False),
    ],
)
def test_value_shapes(value: str, email: bool, phone: bool) -> None:
    assert (looks_like_email(value), looks_like_phone(value)) == (email, phone)


def test_values_under_a_harmless_name_are_recognised() -> None:
    contacts = ["ann@example.org", "bob@example.com", "", None, "n/a", "cat@example.net"]
    assert personal_data_reason("contact", contacts) == (
        "personal data: values look like e-mail addresses (3 of 4 sampled)")
    cards = ["4111111111111111", "5500005555555559", "6011111111111117"]
    assert personal_data_reason("ref", cards) == (
        "personal data: values look like payment card numbers (3 of 3 sampled)")
    ibans = ["DE89370400440532013000", "GB82WEST12345698765432"]
    assert personal_data_reason("x", ibans) == (
        "personal data: values look like IBANs (2 of 2 sampled)")


def test_a_few_stray_matches_do_not_make_a_column_personal() -> None:
    # one e-mail among many plain categories stays below the quarter that is needed
    values = ["gold", "silver", "bronze", "gold", "x@example.org"]
    assert personal_data_reason("tier", values) is None
    # random 16-digit ids pass the Luhn check one time in ten only
    ids = [f"{n:016d}" for n in range(1_000_000_000_000_000, 1_000_000_000_000_040)]
    assert personal_data_reason("ref", ids) is None
