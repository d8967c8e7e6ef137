"""Normalise, validate and classify Chinese licence plates (GA 36-2018)."""

from enum import StrEnum
import re
import unicodedata

from .errors import InvalidPlateError

# The one-character abbreviations of the 31 mainland provinces, regions and
# municipalities; Hong Kong, Macau and Taiwan issue their own plates.
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

# Serial characters: digits and capital letters, except I and O, which read as 1 and 0.
_SERIAL = "[A-HJ-NP-Z0-9]"
_PREFIX = f"[{PROVINCES}][A-Z]"

# Plate readers and people write plates with dots, bullets, dashes and spaces
# between the city letter and the serial; none of them is part of the plate.
_SEPARATORS = str.maketrans(
    "",
    "",
    # middle dot, bullet, full stop, hyphen-minus, then the Unicode hyphens and
    # dashes (hyphen, non-breaking hyphen, figure dash, en dash, em dash, minus)
    # and dot-like marks (katakana middle dot, hyphenation point, bullet and dot
    # operators) that word processors and OCR substitute.
    "\u00b7\u2022.-\u2010\u2011\u2012\u2013\u2014\u2212\u30fb\u2027\u2219\u22c5",
)


class PlateKind(StrEnum):
    """Name the kinds of plate the registry accepts."""

    ORDINARY = "ordinary"
    NEW_ENERGY_SMALL = "new_energy_small"
    NEW_ENERGY_LARGE = "new_energy_large"
    POLICE = "police"
    COACH = "coach"
    TRAILER = "trailer"
    HONG_KONG = "hong_kong"
    MACAU = "macau"
    CONSULATE = "consulate"
    TEST = "test"
    OVERSIZE = "oversize"
    EMBASSY = "embassy"


_SUFFIX_KINDS = {
    "警": PlateKind.POLICE,
    "学": PlateKind.COACH,
    "挂": PlateKind.TRAILER,
    "港": PlateKind.HONG_KONG,
    "澳": PlateKind.MACAU,
    "领": PlateKind.CONSULATE,
    "试": PlateKind.TEST,
    "超": PlateKind.OVERSIZE,
}

_ORDINARY = re.compile(f"{_PREFIX}{_SERIAL}{{5}}")
# Small new-energy plates: an energy letter (D electric, F other; the 2022
# extension added A-K without I), a serial character, then four digits.
_NEW_ENERGY_SMALL = re.compile(f"{_PREFIX}[A-HJK]{_SERIAL}[0-9]{{4}}")
# Large new-energy plates put five digits first and the energy letter last.
_NEW_ENERGY_LARGE = re.compile(f"{_PREFIX}[0-9]{{5}}[DF]")
_WITH_SUFFIX = re.compile(f"{_PREFIX}{_SERIAL}{{4}}([{''.join(_SUFFIX_KINDS)}])")
# Embassy plates: 使, a three-digit embassy code and a three-digit serial.
_EMBASSY = re.compile("使[0-9]{6}")


def normalize_plate(text: str) -> str:
    """Return a plate as the registry keys it: half-width, upper case, no separators.

    Look-alike characters (0/O, 1/I, 8/B) are left alone: guessing belongs to
    tolerant matching, not to the key a plate is stored under.
    """

    folded = unicodedata.normalize("NFKC", text).upper().translate(_SEPARATORS)
    return "".join(folded.split())


def _classify_normalized(plate: str) -> PlateKind | None:
    """Classify a plate that is already normalised."""
    match len(plate):
        case 7:
            if _ORDINARY.fullmatch(plate):
                return PlateKind.ORDINARY
            if _EMBASSY.fullmatch(plate):
                return PlateKind.EMBASSY
            if suffixed := _WITH_SUFFIX.fullmatch(plate):
                return _SUFFIX_KINDS[suffixed[1]]
        case 8:
            if _NEW_ENERGY_SMALL.fullmatch(plate):
                return PlateKind.NEW_ENERGY_SMALL
            if _NEW_ENERGY_LARGE.fullmatch(plate):
                return PlateKind.NEW_ENERGY_LARGE
    return None


def classify_plate(plate: str) -> PlateKind | None:
    """Tell which kind of plate a text is, or None when it is no valid plate."""
    return _classify_normalized(normalize_plate(plate))


def _explain(plate: str) -> str:
    """Say in English why a normalised plate matches no format."""
    if not plate:
        return "it is empty"
    if plate[0] == "使":
        return "an embassy plate is 使 followed by six digits"
    if plate[0] not in PROVINCES:
        return f"it must start with a province abbreviation, not {plate[0]!r}"
    if len(plate) < 2 or not "A" <= plate[1] <= "Z":
        return "the province must be followed by a letter A-Z"
    if "I" in plate[2:] or "O" in plate[2:]:
        return "plates do not use the letters I and O after the city letter"
    if len(plate) not in {7, 8}:
        return f"it has {len(plate)} characters; plates have 7, or 8 for new-energy vehicles"
    if len(plate) == 8:
        return "an 8-character new-energy plate is D/F + letter or digit + 4 digits, or 5 digits + D/F"
    return "after the city letter come 5 letters or digits, or 4 and a suffix such as 警 or 学"


def validate_plate(text: str) -> str:
    """Return the normalised plate, or raise InvalidPlateError explaining why not."""
    plate = normalize_plate(text)
    if _classify_normalized(plate) is None:
        raise InvalidPlateError(text.strip() or plate, _explain(plate))
    return plate
