"""Recognise columns that carry personal data, by their name and by their values.

Such columns are never stored, never attributes, never features and never copied into the
quarantine. A name is checked after normalisation (lower case, letters and digits only) and
split into its words (``customer_email`` and ``CustomerEmail`` both give ``customer``,
``email``); values are checked on a sample: e-mail addresses, phone numbers, payment card
numbers (13 to 19 digits passing the Luhn check) and IBANs (passing the mod-97 check).

The canonical ``name`` column of stores and campaigns is not personal: it is mapped to its
canonical column before this check is ever asked about it.

Examples
--------
>>> personal_data_reason("customer_email", [])
'personal data: the name says e-mail address'
>>> personal_data_reason("contact", ["ann@example.org", "bob@example.com"])
'personal data: values look like e-mail addresses (2 of 2 sampled)'
>>> personal_data_reason("MntWines", ["635", "11"]) is None
True
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "looks_like_card_number",
    "looks_like_email",
    "looks_like_iban",
    "looks_like_phone",
    "name_words",
    "passes_luhn",
    "personal_data_name_reason",
    "personal_data_reason",
    "personal_data_value_reason",
]

_SHARE_FOR_CONTENT = 0.25
"""A column is personal when at least this share of its sampled values look personal."""

# Beginnings of a word (or of words run together from there: ``date_of_birth``), long
# enough not to begin another word by chance.
_NAME_FRAGMENTS: tuple[tuple[str, str], ...] = (
    ("email", "e-mail address"), ("emailadresse", "e-mail address"),
    ("phone", "phone number"), ("telephone", "phone number"), ("telefon", "phone number"),
    ("whatsapp", "phone number"),
    ("firstname", "name"), ("lastname", "name"), ("fullname", "name"),
    ("surname", "name"), ("forename", "name"), ("givenname", "name"),
    ("familyname", "name"), ("middlename", "name"), ("maidenname", "name"),
    ("customername", "name"), ("clientname", "name"), ("membername", "name"),
    ("contactname", "name"), ("username", "name"), ("vorname", "name"),
    ("nachname", "name"), ("apellido", "name"),
    ("address", "postal address"), ("street", "postal address"), ("strasse", "postal address"),
    ("postcode", "postal address"), ("postalcode", "postal address"),
    ("zipcode", "postal address"), ("housenumber", "postal address"),
    ("creditcardnumber", "payment card number"), ("creditcardno", "payment card number"),
    ("debitcardnumber", "payment card number"), ("cardnumber", "payment card number"),
    ("cardno", "payment card number"), ("cellphone", "phone number"),
    ("iban", "bank account number"), ("accountnumber", "bank account number"),
    ("accountno", "bank account number"), ("bankaccount", "bank account number"),
    ("socialsecurity", "national identity number"), ("nationalid", "national identity number"),
    ("nationalinsurance", "national identity number"),
    ("passport", "national identity number"), ("taxid", "national identity number"),
    ("taxnumber", "national identity number"), ("idcardnumber", "national identity number"),
    ("dateofbirth", "date of birth"), ("birthdate", "date of birth"),
    ("birthday", "date of birth"), ("geburtsdatum", "date of birth"),
    ("freetext", "free text about the person"),
)

# Words that are personal only as a whole word (``tel`` is in ``hotel``, ``zip`` in ``zipped``).
_NAME_WORDS: dict[str, str] = {
    "name": "name", "names": "name", "nombre": "name", "prenom": "name", "cognome": "name",
    "mail": "e-mail address", "tel": "phone number", "telno": "phone number",
    "telnr": "phone number", "fax": "phone number", "handy": "phone number",
    "addr": "postal address", "zip": "postal address", "plz": "postal address",
    "ssn": "national identity number", "nino": "national identity number",
    "tin": "national identity number", "dni": "national identity number",
    "dob": "date of birth",
    "ip": "network address",
    "note": "free text about the person", "notes": "free text about the person",
    "comment": "free text about the person", "comments": "free text about the person",
    "remark": "free text about the person", "remarks": "free text about the person",
    "memo": "free text about the person", "annotation": "free text about the person",
    "annotations": "free text about the person",
}

# Words personal only together with a word saying "number" (``mobile_app`` is not a phone).
_NUMBER_WORDS = frozenset({"number", "no", "nr", "num", "nummer", "phone"})
_NUMBERED_WORDS: dict[str, str] = {
    "mobile": "phone number", "mobil": "phone number", "cell": "phone number",
    "card": "payment card number", "account": "bank account number",
}

_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_PHONE_CHARS = re.compile(r"^(\+|\()?[0-9][0-9 ()./-]*[0-9]$")
_DATE_SHAPED = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$")
_PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_CARD_CHARS = re.compile(r"^[0-9][0-9 -]{11,22}[0-9]$")
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")


def name_words(name: str) -> list[str]:
    """The words of a column name, lower case, accents dropped.

    Words are split at anything but letters and digits and where a lower-case letter
    meets an upper-case one (``MobilePhone`` gives ``mobile``, ``phone``).

    >>> name_words("MobilePhone"), name_words("customer e-mail"), name_words("Tel.No")
    (['mobile', 'phone'], ['customer', 'e', 'mail'], ['tel', 'no'])
    """
    folded = unicodedata.normalize("NFKD", name)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", folded)
    return [w for w in re.split(r"[^0-9a-zA-Z]+", spaced.lower()) if w]


def personal_data_name_reason(column_name: str) -> str | None:
    """Why the name ``column_name`` says personal data, or None.

    >>> personal_data_name_reason("mobile_phone")
    'personal data: the name says phone number'
    >>> personal_data_name_reason("uses_mobile_app") is None
    True
    >>> personal_data_name_reason("Full Name"), personal_data_name_reason("store_name")
    ('personal data: the name says name', None)
    >>> personal_data_name_reason("MntHeadphones") is None
    True
    """
    words = name_words(column_name)
    joined = "".join(words)
    found = _name_kind(words, joined)
    return None if found is None else f"personal data: the name says {found}"


_WHOLE_NAMES: dict[str, str] = {
    "creditcard": "payment card number", "debitcard": "payment card number",
    "customeremail": "e-mail address", "useremail": "e-mail address",
}


def _name_kind(words: Sequence[str], joined: str) -> str | None:
    if joined in _WHOLE_NAMES:
        return _WHOLE_NAMES[joined]
    tails = ["".join(words[i:]) for i in range(len(words))]
    for fragment, kind in _NAME_FRAGMENTS:
        if any(tail.startswith(fragment) for tail in tails):
            return kind
    if len(words) <= 2 and words and words[-1] in ("name", "names") and (
            len(words) == 1 or words[0] in ("customer", "client", "member", "contact", "person",
                                             "first", "last", "full", "given", "family", "sur",
                                             "middle", "nick", "user", "account", "holder")):
        return "name"
    for word in words:
        if word in _NAME_WORDS and word not in ("name", "names"):
            return _NAME_WORDS[word]
    for position, word in enumerate(words):
        if word in _NUMBERED_WORDS and (
                set(words[position + 1:]) & _NUMBER_WORDS or len(words) == 1):
            return _NUMBERED_WORDS[word]
    return None


def looks_like_email(value: str) -> bool:
    """True for a value that is an e-mail address.

    >>> looks_like_email("ann.lee+shop@mail.example.org"), looks_like_email("ann at home")
    (True, False)
    """
    return bool(_EMAIL.match(value.strip()))


def looks_like_phone(value: str) -> bool:
    """True for a value written like a phone number.

    Eight to fifteen digits, with a leading ``+`` or ``00``, or grouped by spaces, dashes,
    dots or brackets, or starting with a trunk ``0``; dates and plain decimals are not phones.

    >>> [looks_like_phone(v) for v in ("+49 151 2345678", "(555) 123-4567", "2021-01-01",
    ...                                "17850", "1234.5678")]
    [True, True, False, False, False]
    """
    text = value.strip()
    if not _PHONE_CHARS.match(text) or _DATE_SHAPED.match(text):
        return False
    digits = re.sub(r"\D", "", text)
    if not 8 <= len(digits) <= 15:
        return False
    if text.startswith(("+", "00")):
        return True
    if _PLAIN_NUMBER.match(text):
        return text.startswith("0") and 9 <= len(digits) <= 12
    return bool(re.search(r"\d[ ()-]+\d|^\(\d", text))


def passes_luhn(digits: str) -> bool:
    """The Luhn check that payment card numbers pass.

    >>> passes_luhn("4111111111111111"), passes_luhn("4111111111111112")
    (True, False)
    """
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def looks_like_card_number(value: str) -> bool:
    """True for 13 to 19 digits (spaces or dashes allowed) that pass the Luhn check.

    >>> looks_like_card_number("4111 1111 1111 1111"), looks_like_card_number("1234567890123")
    (True, False)
    """
    text = value.strip()
    if not _CARD_CHARS.match(text):
        return False
    digits = re.sub(r"\D", "", text)
    return 13 <= len(digits) <= 19 and passes_luhn(digits)


def looks_like_iban(value: str) -> bool:
    """True for an IBAN (country, check digits, account) passing the mod-97 check.

    >>> looks_like_iban("DE89 3704 0044 0532 0130 00"), looks_like_iban("DE00370400440532013000")
    (True, False)
    """
    text = re.sub(r"\s", "", value).upper()
    if not _IBAN.match(text):
        return False
    moved = text[4:] + text[:4]
    as_digits = "".join(str(int(ch, 36)) for ch in moved)
    return int(as_digits) % 97 == 1


_VALUE_CHECKS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("e-mail addresses", looks_like_email),
    ("payment card numbers", looks_like_card_number),
    ("IBANs", looks_like_iban),
    ("phone numbers", looks_like_phone),
)


def personal_data_value_reason(sample_values: Iterable[object]) -> str | None:
    """Why a sample of a column's values looks like personal data, or None.

    A quarter of the non-empty sampled values must look like the same kind of data.

    >>> personal_data_value_reason(["+44 20 7946 0958", "n/a", "+44 20 7946 0000", ""])
    'personal data: values look like phone numbers (2 of 3 sampled)'
    >>> personal_data_value_reason(["12", "ab", None]) is None
    True
    """
    values = [str(v) for v in sample_values if v is not None and str(v).strip()]
    if not values:
        return None
    for label, check in _VALUE_CHECKS:
        hits = sum(1 for v in values if check(v))
        if hits and hits >= _SHARE_FOR_CONTENT * len(values):
            return f"personal data: values look like {label} ({hits} of {len(values)} sampled)"
    return None


def personal_data_reason(column_name: str, sample_values: Iterable[object]) -> str | None:
    """Why a column carries personal data (by its name, then its values), or None.

    Parameters
    ----------
    column_name:
        The column's name as the file writes it.
    sample_values:
        Some of its values (text or numbers; empty ones are skipped).

    >>> personal_data_reason("card", ["4111111111111111", "5500005555555559"])
    'personal data: the name says payment card number'
    >>> personal_data_reason("ref", ["4111111111111111", "5500005555555559"])
    'personal data: values look like payment card numbers (2 of 2 sampled)'
    """
    return personal_data_name_reason(column_name) or personal_data_value_reason(sample_values)
