"""Checkout's shipping address and phone: validated input shapes and what the order stores."""

import re

from rest_framework import serializers

# ISO 3166-1 alpha-2: the 249 officially assigned codes (as listed by tzdata's iso3166.tab).
COUNTRY_CODES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
    BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
    EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()
)
# E.164: a plus, a country code that does not start with 0, at most 15 digits in all.
E164 = re.compile(r"^\+[1-9][0-9]{6,14}\Z")


def _printable(value: str) -> str:
    if not value.isprintable():
        raise serializers.ValidationError("Only printable characters.")
    return value


class ShippingAddressInput(serializers.Serializer):
    name = serializers.CharField(max_length=100, validators=[_printable])
    line1 = serializers.CharField(max_length=200, validators=[_printable])
    line2 = serializers.CharField(
        max_length=200, required=False, allow_blank=True, allow_null=True, validators=[_printable]
    )
    city = serializers.CharField(max_length=100, validators=[_printable])
    postal_code = serializers.CharField(max_length=20, validators=[_printable])
    country = serializers.CharField(min_length=2, max_length=2, help_text="ISO 3166-1 alpha-2, e.g. `DE`.")

    def validate_country(self, value: str) -> str:
        code = value.upper()
        if code not in COUNTRY_CODES:
            raise serializers.ValidationError("Not an ISO 3166-1 alpha-2 country code.")
        return code

    def validate(self, data: dict) -> dict:
        return {**data, "line2": data.get("line2") or None}


class PhoneField(serializers.CharField):
    """A phone number in E.164 (`+4915112345678`); spaces are not accepted."""

    def __init__(self, **kwargs) -> None:
        super().__init__(max_length=16, **kwargs)

    def to_internal_value(self, data) -> str:
        value = super().to_internal_value(data)
        if not E164.match(value):
            raise serializers.ValidationError("A phone number in E.164 form, e.g. +4915112345678.")
        return value
