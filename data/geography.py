"""South African geography: provinces, the fixed province → region hierarchy, cities and suburbs.

One definition shared by the demo generator (where people live), the partner service areas and
the de-identified aggregates (which generalise province to region). The region hierarchy is fixed
on purpose: disclosure control needs the same generalisation every time, never one derived from
the data. Populations are the 2022 census figures in thousands and weight where demo people live.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Province:
    name: str
    code: str
    region: str
    population_k: int


@dataclass(frozen=True)
class Suburb:
    name: str
    postal_code: str


@dataclass(frozen=True)
class City:
    """A city with its share of the province's population and its landline area code."""

    name: str
    province: str
    weight: float
    area_code: str
    suburbs: tuple[Suburb, ...]


REGIONS = ("Inland north", "Inland central", "East coast", "Western")

PROVINCES: tuple[Province, ...] = (
    Province("Gauteng", "GP", "Inland north", 15_100),
    Province("KwaZulu-Natal", "KZN", "East coast", 12_420),
    Province("Western Cape", "WC", "Western", 7_430),
    Province("Eastern Cape", "EC", "East coast", 7_230),
    Province("Limpopo", "LP", "Inland north", 6_570),
    Province("Mpumalanga", "MP", "Inland north", 5_140),
    Province("North West", "NW", "Inland central", 3_800),
    Province("Free State", "FS", "Inland central", 2_960),
    Province("Northern Cape", "NC", "Western", 1_360),
)

PROVINCE_NAMES: tuple[str, ...] = tuple(p.name for p in PROVINCES)
PROVINCE_REGION: dict[str, str] = {p.name: p.region for p in PROVINCES}

# Land borders between provinces: partners near a border often serve the neighbour too.
PROVINCE_NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "Gauteng": ("Limpopo", "Mpumalanga", "North West", "Free State"),
    "KwaZulu-Natal": ("Mpumalanga", "Free State", "Eastern Cape"),
    "Western Cape": ("Northern Cape", "Eastern Cape"),
    "Eastern Cape": ("Western Cape", "Northern Cape", "Free State", "KwaZulu-Natal"),
    "Limpopo": ("Gauteng", "Mpumalanga", "North West"),
    "Mpumalanga": ("Gauteng", "Limpopo", "KwaZulu-Natal", "Free State"),
    "North West": ("Gauteng", "Limpopo", "Free State", "Northern Cape"),
    "Free State": (
        "Gauteng",
        "Mpumalanga",
        "KwaZulu-Natal",
        "Eastern Cape",
        "Northern Cape",
        "North West",
    ),
    "Northern Cape": ("Western Cape", "Eastern Cape", "Free State", "North West"),
}


def _city(
    name: str, province: str, weight: float, area_code: str, *suburbs: tuple[str, str]
) -> City:
    return City(name, province, weight, area_code, tuple(Suburb(s, pc) for s, pc in suburbs))


# fmt: off
CITIES: tuple[City, ...] = (
    # Gauteng
    _city(
        "Johannesburg", "Gauteng", 0.40, "11",
        ("Sandton", "2196"), ("Randburg", "2194"), ("Soweto", "1804"), ("Roodepoort", "1724"),
        ("Midrand", "1685"), ("Fourways", "2191"), ("Rosebank", "2196"), ("Melville", "2092"),
        ("Northcliff", "2195"), ("Bryanston", "2191"), ("Alexandra", "2090"),
    ),
    _city(
        "Pretoria", "Gauteng", 0.28, "12",
        ("Hatfield", "0083"), ("Centurion", "0157"), ("Brooklyn", "0181"), ("Menlyn", "0181"),
        ("Montana", "0182"), ("Garsfontein", "0081"), ("Mamelodi", "0122"),
        ("Soshanguve", "0152"), ("Waterkloof", "0181"), ("Pretoria North", "0182"),
    ),
    _city(
        "Ekurhuleni", "Gauteng", 0.24, "11",
        ("Benoni", "1501"), ("Boksburg", "1459"), ("Kempton Park", "1619"),
        ("Germiston", "1401"), ("Edenvale", "1610"), ("Alberton", "1449"), ("Springs", "1559"),
        ("Tembisa", "1632"),
    ),
    _city(
        "Vereeniging", "Gauteng", 0.04, "16",
        ("Three Rivers", "1939"), ("Arcon Park", "1939"), ("Vanderbijlpark", "1911"),
    ),
    _city(
        "Krugersdorp", "Gauteng", 0.04, "11",
        ("Krugersdorp North", "1739"), ("Noordheuwel", "1739"), ("Muldersdrift", "1747"),
    ),
    # KwaZulu-Natal
    _city(
        "Durban", "KwaZulu-Natal", 0.55, "31",
        ("Umhlanga", "4319"), ("Berea", "4001"), ("Morningside", "4001"), ("Westville", "3629"),
        ("Pinetown", "3610"), ("Chatsworth", "4092"), ("Umlazi", "4031"),
        ("Durban North", "4051"), ("Glenwood", "4001"), ("Phoenix", "4068"),
        ("Amanzimtoti", "4126"),
    ),
    _city(
        "Pietermaritzburg", "KwaZulu-Natal", 0.18, "33",
        ("Scottsville", "3201"), ("Hilton", "3245"), ("Montrose", "3201"),
        ("Northdale", "3201"), ("Edendale", "3201"),
    ),
    _city(
        "Newcastle", "KwaZulu-Natal", 0.07, "34",
        ("Newcastle Central", "2940"), ("Madadeni", "2951"), ("Aviary Hill", "2940"),
    ),
    _city(
        "Richards Bay", "KwaZulu-Natal", 0.07, "35",
        ("Meerensee", "3901"), ("Arboretum", "3900"), ("Birdswood", "3900"),
    ),
    _city(
        "Ballito", "KwaZulu-Natal", 0.07, "32",
        ("Ballito Central", "4420"), ("Salt Rock", "4391"), ("Zimbali", "4418"),
    ),
    _city(
        "Margate", "KwaZulu-Natal", 0.06, "39",
        ("Margate Central", "4275"), ("Uvongo", "4270"), ("Ramsgate", "4285"),
    ),
    # Western Cape
    _city(
        "Cape Town", "Western Cape", 0.70, "21",
        ("Sea Point", "8005"), ("Claremont", "7708"), ("Bellville", "7530"),
        ("Durbanville", "7550"), ("Table View", "7441"), ("Khayelitsha", "7784"),
        ("Mitchells Plain", "7785"), ("Constantia", "7806"), ("Observatory", "7925"),
        ("Somerset West", "7130"), ("Milnerton", "7441"), ("Rondebosch", "7700"),
    ),
    _city(
        "Stellenbosch", "Western Cape", 0.06, "21",
        ("Stellenbosch Central", "7600"), ("Dalsig", "7600"), ("Paradyskloof", "7600"),
        ("Kayamandi", "7600"),
    ),
    _city(
        "Paarl", "Western Cape", 0.06, "21",
        ("Paarl Central", "7646"), ("Southern Paarl", "7646"), ("Mbekweni", "7626"),
    ),
    _city(
        "George", "Western Cape", 0.06, "44",
        ("George Central", "6529"), ("Blanco", "6530"), ("Heatherlands", "6529"),
    ),
    _city(
        "Worcester", "Western Cape", 0.04, "23",
        ("Worcester Central", "6850"), ("Avian Park", "6850"),
    ),
    _city("Knysna", "Western Cape", 0.04, "44", ("Knysna Central", "6571"), ("Brenton", "6571")),
    _city(
        "Hermanus", "Western Cape", 0.04, "28",
        ("Hermanus Central", "7200"), ("Onrus", "7201"), ("Voëlklip", "7200"),
    ),
    # Eastern Cape
    _city(
        "Gqeberha", "Eastern Cape", 0.40, "41",
        ("Walmer", "6070"), ("Summerstrand", "6001"), ("Newton Park", "6045"),
        ("Lorraine", "6070"), ("Kabega Park", "6025"), ("Motherwell", "6211"),
    ),
    _city(
        "East London", "Eastern Cape", 0.28, "43",
        ("Vincent", "5247"), ("Beacon Bay", "5241"), ("Nahoon", "5241"), ("Berea", "5241"),
        ("Mdantsane", "5219"),
    ),
    _city(
        "Mthatha", "Eastern Cape", 0.14, "47",
        ("Mthatha Central", "5099"), ("Southernwood", "5099"), ("Fort Gale", "5099"),
    ),
    _city("Makhanda", "Eastern Cape", 0.06, "46", ("Makhanda Central", "6139")),
    _city("Komani", "Eastern Cape", 0.06, "45", ("Komani Central", "5320")),
    _city(
        "Jeffreys Bay", "Eastern Cape", 0.06, "42",
        ("Jeffreys Bay Central", "6330"), ("Wavecrest", "6330"),
    ),
    # Limpopo
    _city(
        "Polokwane", "Limpopo", 0.45, "15",
        ("Bendor", "0699"), ("Polokwane Central", "0700"), ("Seshego", "0742"),
        ("Flora Park", "0699"), ("Westenburg", "0699"),
    ),
    _city("Tzaneen", "Limpopo", 0.15, "15", ("Tzaneen Central", "0850"), ("Aqua Park", "0850")),
    _city("Thohoyandou", "Limpopo", 0.15, "15", ("Thohoyandou Central", "0950")),
    _city("Mokopane", "Limpopo", 0.10, "15", ("Mokopane Central", "0600")),
    _city("Bela-Bela", "Limpopo", 0.08, "14", ("Bela-Bela Central", "0480")),
    _city("Lephalale", "Limpopo", 0.07, "14", ("Onverwacht", "0555"), ("Marapong", "0555")),
    # Mpumalanga
    _city(
        "Mbombela", "Mpumalanga", 0.35, "13",
        ("Sonheuwel", "1201"), ("West Acres", "1201"), ("Nelspruit Central", "1200"),
        ("White River", "1240"), ("KaNyamazane", "1214"),
    ),
    _city(
        "eMalahleni", "Mpumalanga", 0.25, "13",
        ("Witbank Central", "1035"), ("Del Judor", "1035"), ("Reyno Ridge", "1035"),
    ),
    _city(
        "Middelburg", "Mpumalanga", 0.15, "13",
        ("Middelburg Central", "1050"), ("Aerorand", "1050"),
    ),
    _city("Secunda", "Mpumalanga", 0.12, "17", ("Secunda Central", "2302"), ("Embalenhle", "2285")),
    _city("Ermelo", "Mpumalanga", 0.08, "17", ("Ermelo Central", "2351")),
    _city("Barberton", "Mpumalanga", 0.05, "13", ("Barberton Central", "1300")),
    # North West
    _city(
        "Rustenburg", "North West", 0.35, "14",
        ("Rustenburg Central", "0299"), ("Safari Gardens", "0299"), ("Cashan", "0299"),
        ("Tlhabane", "0309"),
    ),
    _city("Mahikeng", "North West", 0.20, "18", ("Mahikeng Central", "2745"), ("Mmabatho", "2735")),
    _city(
        "Potchefstroom", "North West", 0.20, "18",
        ("Potchefstroom Central", "2531"), ("Die Bult", "2531"), ("Ikageng", "2539"),
    ),
    _city(
        "Klerksdorp", "North West", 0.18, "18",
        ("Klerksdorp Central", "2571"), ("Flamwood", "2572"), ("Jouberton", "2574"),
    ),
    _city("Hartbeespoort", "North West", 0.07, "12", ("Hartbeespoort", "0216"), ("Brits", "0250")),
    # Free State
    _city(
        "Bloemfontein", "Free State", 0.55, "51",
        ("Westdene", "9301"), ("Langenhovenpark", "9330"), ("Universitas", "9301"),
        ("Fichardt Park", "9301"), ("Bayswater", "9301"), ("Heidedal", "9306"),
    ),
    _city(
        "Welkom", "Free State", 0.20, "57",
        ("Welkom Central", "9460"), ("Flamingo Park", "9459"), ("Thabong", "9463"),
    ),
    _city("Bethlehem", "Free State", 0.10, "58", ("Bethlehem Central", "9701")),
    _city("Kroonstad", "Free State", 0.10, "56", ("Kroonstad Central", "9499")),
    _city("Sasolburg", "Free State", 0.05, "16", ("Sasolburg Central", "1947")),
    # Northern Cape
    _city(
        "Kimberley", "Northern Cape", 0.45, "53",
        ("Kimberley Central", "8301"), ("Royldene", "8301"), ("Hadison Park", "8301"),
        ("Galeshewe", "8345"),
    ),
    _city("Upington", "Northern Cape", 0.25, "54", ("Upington Central", "8801")),
    _city("Kuruman", "Northern Cape", 0.10, "53", ("Kuruman Central", "8460")),
    _city("Springbok", "Northern Cape", 0.10, "27", ("Springbok Central", "8240")),
    _city("Kathu", "Northern Cape", 0.10, "53", ("Kathu Central", "8446")),
)
# fmt: on

CITIES_BY_PROVINCE: dict[str, tuple[City, ...]] = {
    name: tuple(c for c in CITIES if c.province == name) for name in PROVINCE_NAMES
}


def region_of(province: str | None) -> str | None:
    """The region a province generalises to, or None for an unknown or missing province."""
    if province is None:
        return None
    return PROVINCE_REGION.get(province)


def province_weights() -> list[float]:
    """Population shares of the provinces, in ``PROVINCES`` order (sum to 1)."""
    total = sum(p.population_k for p in PROVINCES)
    return [p.population_k / total for p in PROVINCES]
