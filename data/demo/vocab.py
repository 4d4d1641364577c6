"""Word lists and parameters for the demo data: trades, names, texts, prices and seasonality.

Kept apart from the generator so that the numbers that shape the data (who asks for what, when,
at what price) can be read and tuned in one place. Every list is a tuple: its order is part of
the seed → data mapping, so reordering it changes the generated database.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TradeSpec:
    """A trade with its share of leads, typical quote (rand), monthly seasonality and texts.

    ``season`` multiplies demand per calendar month (January first); ``services`` weights the
    four service types (quotation, installation, certificate, maintenance).
    """

    code: str
    name: str
    share: float
    price: float
    season: tuple[float, ...]
    services: tuple[float, float, float, float]
    jobs: tuple[str, ...]
    skills: tuple[str, ...]
    certification: str


FLAT = (1.0,) * 12

TRADES: tuple[TradeSpec, ...] = (
    TradeSpec(
        "plumbing", "Plumbing", 0.16, 2_400, FLAT, (0.45, 0.25, 0.12, 0.18),
        (
            "Geyser burst in the roof, water coming through the ceiling",
            "Blocked kitchen drain, water not going down at all",
            "Need a plumbing certificate of compliance for the transfer of the house",
            "Leaking toilet cistern that keeps running",
            "Replace the old galvanised pipes in the bathroom",
            "Install a heat pump to replace the electric geyser",
            "Low water pressure in the whole house",
            "Outside tap and garden pipe leaking under the paving",
        ),
        ("geysers", "burst pipes", "drain unblocking", "leak detection", "bathroom fitting"),
        "PIRB registered plumber",
    ),
    TradeSpec(
        "electrical", "Electrical", 0.14, 2_800, FLAT, (0.35, 0.20, 0.30, 0.15),
        (
            "Need an electrical certificate of compliance (COC) for selling the house",
            "Earth leakage keeps tripping when it rains",
            "Install extra plugs and a new DB board in the garage",
            "Half the house has no power after a storm",
            "Fit LED downlights in the lounge and kitchen",
            "Move the stove point and add an isolator",
        ),
        ("COC inspections", "DB boards", "fault finding", "lighting", "stove connections"),
        "Registered electrician with wireman's licence (DoEL)",
    ),
    TradeSpec(
        "solar", "Solar and backup power", 0.10, 85_000,
        (0.9, 0.9, 1.0, 1.1, 1.3, 1.4, 1.4, 1.3, 1.1, 1.0, 0.9, 0.8),
        (0.55, 0.30, 0.05, 0.10),
        (
            "Quote for a 5 kW inverter with lithium battery for load-shedding",
            "Add solar panels to the existing inverter",
            "Inverter beeping and batteries not charging",
            "Want to go off-grid, roughly 8 kW, north-facing roof",
            "Backup system for fridge, lights, Wi-Fi and TV only",
        ),
        ("inverters", "lithium batteries", "PV panels", "off-grid systems"),
        "PV GreenCard certified installer",
    ),
    TradeSpec(
        "roofing", "Roofing and waterproofing", 0.08, 18_000,
        (1.1, 1.0, 0.9, 0.8, 0.8, 0.8, 0.8, 0.9, 1.2, 1.3, 1.3, 1.1),
        (0.55, 0.20, 0.02, 0.23),
        (
            "Roof leaking in two rooms after the storm",
            "Waterproof the flat concrete roof before the rains",
            "Replace broken roof tiles and redo the ridge cement",
            "Gutters overflowing and fascia boards rotten",
            "Re-paint and seal an old IBR roof",
        ),
        ("waterproofing", "roof tiles", "IBR sheeting", "gutters", "ceilings"),
        "SAWA waterproofing member",
    ),
    TradeSpec(
        "painting", "Painting", 0.08, 14_000,
        (1.0, 1.1, 1.1, 1.0, 0.8, 0.7, 0.7, 0.9, 1.1, 1.2, 1.2, 0.9),
        (0.70, 0.25, 0.0, 0.05),
        (
            "Paint the outside of a double-storey house",
            "Interior painting of three bedrooms and a passage",
            "Damp patches on the wall need treating and painting",
            "Paint the boundary wall and the gate",
        ),
        ("exterior painting", "interior painting", "damp proofing", "roof painting"),
        "Plascon-trained applicator",
    ),
    TradeSpec(
        "carpentry", "Carpentry", 0.05, 9_000, FLAT, (0.55, 0.35, 0.0, 0.10),
        (
            "Built-in cupboards for two bedrooms",
            "Kitchen cupboard doors falling off, need new hinges and doors",
            "Wooden deck is rotten and needs replacing",
            "Fit new internal doors and frames",
        ),
        ("built-in cupboards", "kitchens", "decking", "doors"),
        "Trade-tested carpenter",
    ),
    TradeSpec(
        "building", "Building and renovation", 0.09, 60_000,
        (1.1, 1.2, 1.1, 1.0, 0.9, 0.8, 0.8, 0.9, 1.0, 1.1, 1.1, 0.8),
        (0.75, 0.20, 0.03, 0.02),
        (
            "Build a granny flat in the back yard, plans approved",
            "Renovate the bathroom: new tiles, shower and vanity",
            "Extend the lounge by about 20 square metres",
            "Boundary wall cracked and leaning, needs rebuilding",
            "Close in the patio to make an extra room",
        ),
        ("renovations", "extensions", "boundary walls", "bathrooms", "plastering"),
        "NHBRC registered home builder",
    ),
    TradeSpec(
        "gate_and_garage_automation", "Gate and garage automation", 0.06, 7_500, FLAT,
        (0.35, 0.35, 0.0, 0.30),
        (
            "Gate motor not opening, battery seems flat",
            "Install a sliding gate motor with two remotes",
            "Garage door motor is noisy and stops halfway",
            "Intercom at the gate not working",
        ),
        ("gate motors", "garage doors", "intercoms", "access control"),
        "Centurion Systems accredited installer",
    ),
    TradeSpec(
        "pest_control", "Pest control", 0.05, 1_300,
        (1.3, 1.3, 1.1, 0.9, 0.7, 0.6, 0.6, 0.8, 1.0, 1.2, 1.3, 1.2),
        (0.30, 0.0, 0.15, 0.55),
        (
            "Cockroaches in the kitchen, need a full treatment",
            "Termites found in the wooden skirting",
            "Rats in the roof, can hear them at night",
            "Need a beetle certificate for the sale of the house",
        ),
        ("termites", "cockroaches", "rodents", "beetle certificates"),
        "Registered pest control operator (Act 36 of 1947)",
    ),
    TradeSpec(
        "pool_maintenance", "Pool maintenance", 0.04, 950,
        (1.5, 1.4, 1.1, 0.8, 0.5, 0.4, 0.4, 0.6, 1.0, 1.3, 1.5, 1.5),
        (0.20, 0.10, 0.0, 0.70),
        (
            "Pool is green, needs a clean and balancing before the holidays",
            "Pool pump makes a loud noise and trips",
            "Weekly pool service wanted",
            "Leak in the pool, losing water every day",
        ),
        ("pool cleaning", "pumps and filters", "leak detection", "pool covers"),
        "NSPI pool technician",
    ),
    TradeSpec(
        "appliance_repair", "Appliance repair", 0.05, 900, FLAT, (0.20, 0.10, 0.0, 0.70),
        (
            "Washing machine not spinning",
            "Fridge not cooling, freezer fine",
            "Oven element blown",
            "Dishwasher leaking water on the floor",
        ),
        ("washing machines", "fridges", "ovens", "dishwashers"),
        "Factory-trained appliance technician",
    ),
    TradeSpec(
        "locksmith", "Locksmith", 0.03, 750, FLAT, (0.15, 0.40, 0.0, 0.45),
        (
            "Locked out of the house, keys inside",
            "Change all the locks after a break-in",
            "Install a security gate lock and extra deadbolts",
        ),
        ("lockouts", "lock changes", "safes", "security gates"),
        "LASA registered locksmith",
    ),
    TradeSpec(
        "tiling", "Tiling", 0.04, 11_000, FLAT, (0.65, 0.30, 0.0, 0.05),
        (
            "Tile the open-plan lounge and kitchen, about 45 square metres",
            "Re-grout the shower and replace cracked tiles",
            "Tile the patio with non-slip tiles",
        ),
        ("floor tiling", "wall tiling", "grouting", "outdoor tiling"),
        "Tiling Association of South Africa member",
    ),
    TradeSpec(
        "air_conditioning", "Air conditioning", 0.03, 13_500,
        (1.6, 1.5, 1.2, 0.8, 0.5, 0.4, 0.4, 0.6, 0.9, 1.2, 1.5, 1.6),
        (0.45, 0.35, 0.0, 0.20),
        (
            "Install a 12 000 BTU inverter aircon in the main bedroom",
            "Aircon leaking water inside and not cooling",
            "Service three split units before summer",
        ),
        ("split units", "servicing", "regassing", "ducted systems"),
        "SAQCC Gas registered (refrigerant handling)",
    ),
)  # fmt: skip

SERVICE_NAMES = {
    "quotation": "Quotation",
    "installation": "Installation",
    "certificate": "Compliance certificate",
    "maintenance": "Regular maintenance",
}
SERVICE_PRICE = (1.0, 1.35, 0.55, 0.45)  # multiplier on the trade price per service type
SERVICE_QUOTE_RATE = (0.78, 0.74, 0.85, 0.70)
SERVICE_JOB_DAYS = (6.0, 5.0, 1.5, 0.8)  # median days from hire to completion

# Calendar-month demand overall (January first): busy before December and in late summer, a dip
# in the cold mid-winter months and over the December holidays (handled per day as well).
MONTH_DEMAND = (1.05, 1.10, 1.10, 0.95, 0.90, 0.75, 0.75, 0.90, 1.05, 1.15, 1.20, 0.85)
WEEKDAY_DEMAND = (1.05, 1.05, 1.0, 1.0, 0.95, 0.75, 0.60)  # Monday first
HOUR_DEMAND = (
    0.05, 0.03, 0.02, 0.02, 0.03, 0.1, 0.35, 0.7, 1.0, 1.1, 1.1, 1.05,
    1.0, 1.0, 0.95, 0.95, 1.0, 1.1, 1.2, 1.25, 1.15, 0.9, 0.5, 0.2,
)  # fmt: skip
GROWTH_PER_YEAR = 0.30

CHANNELS_NEW = (("organic", 0.42), ("paid_search", 0.30), ("sub_brand", 0.15), ("referral", 0.13))
SUB_BRAND_SITES = ("geyserhelp.co.za", "solarquotes.co.za")
MAIN_SITE = "main"

FEMALE_NAMES = (
    "Thandiwe", "Nomvula", "Lerato", "Palesa", "Zanele", "Nokuthula", "Busisiwe", "Ayanda",
    "Naledi", "Refilwe", "Kgomotso", "Thandeka", "Sibongile", "Lindiwe", "Nosipho", "Precious",
    "Bongiwe", "Karabo", "Dineo", "Tshepiso", "Anele", "Khanyisile", "Boitumelo", "Unathi",
    "Amahle", "Lungile", "Zodwa", "Ntombi", "Mbali", "Nandi", "Sarah", "Emma", "Chloe",
    "Jessica", "Michelle", "Nicole", "Lauren", "Megan", "Jennifer", "Elizabeth", "Anna",
    "Charlize", "Annelie", "Marike", "Elmarie", "Liezl", "Chantelle", "Riana", "Suné", "Zelda",
    "Priya", "Anusha", "Kavitha", "Shireen", "Fatima", "Aaliyah", "Zainab", "Nadia", "Yasmin",
    "Candice", "Mariska", "Tanya", "Carmen", "Bianca",
)  # fmt: skip
MALE_NAMES = (
    "Thabo", "Sipho", "Mandla", "Bongani", "Sibusiso", "Themba", "Lwazi", "Kagiso", "Tshepo",
    "Lebogang", "Tebogo", "Neo", "Kabelo", "Sizwe", "Musa", "Lungelo", "Siyabonga", "Andile",
    "Xolani", "Vusi", "Bheki", "Jabulani", "Mpho", "Katlego", "Lindani", "Lethabo", "Tumelo",
    "Johan", "Pieter", "Willem", "Hendrik", "Jaco", "François", "Gerhard", "Riaan", "Deon",
    "Christo", "Stefan", "Wikus", "Michael", "David", "John", "Craig", "Ryan", "Brandon",
    "Jason", "Mark", "Grant", "Kyle", "Pravin", "Rajesh", "Vikash", "Sanjay", "Yusuf",
    "Ebrahim", "Mohammed", "Imraan", "Faizel", "Kevin", "Shaun", "Ashwin", "Clive",
)  # fmt: skip
SURNAMES = (
    "Nkosi", "Dlamini", "Ndlovu", "Khumalo", "Mthembu", "Zulu", "Mokoena", "Mahlangu",
    "Sithole", "Ngcobo", "Mkhize", "Mabaso", "Shabalala", "Buthelezi", "Zwane", "Cele",
    "Ngubane", "Molefe", "Mofokeng", "Nhlapo", "Mthethwa", "Baloyi", "Maluleke", "Chauke",
    "Mathebula", "Shabangu", "Masilela", "Radebe", "Tshabalala", "Motaung", "Khoza",
    "Mazibuko", "Hlongwane", "Mabena", "Modise", "Phiri", "Mokwena", "Letsoalo", "Maseko",
    "Sibiya", "Nxumalo", "Gumede", "Moloi", "Tau", "Makhubela", "Mbeki", "Qwabe", "Nel",
    "Botha", "van der Merwe", "Pretorius", "du Plessis", "van Wyk", "Joubert", "Venter",
    "Coetzee", "Fourie", "Steyn", "Kruger", "Swanepoel", "Jacobs", "Visser", "du Toit", "Smit",
    "le Roux", "Erasmus", "Olivier", "Marais", "Meyer", "Engelbrecht", "Smith", "Williams",
    "Jones", "Taylor", "Brown", "Wilson", "Johnson", "Adams", "Petersen", "Jansen", "Hendricks",
    "Abrahams", "Isaacs", "Davids", "Fortuin", "Naidoo", "Pillay", "Govender", "Reddy",
    "Moodley", "Chetty", "Singh", "Maharaj", "Patel", "Khan", "Moosa", "Essop", "Cassim",
)  # fmt: skip

EMAIL_DOMAINS = (
    ("gmail.com", 0.42), ("outlook.com", 0.10), ("yahoo.com", 0.07), ("icloud.com", 0.08),
    ("webmail.co.za", 0.07), ("mweb.co.za", 0.06), ("telkomsa.net", 0.05),
    ("vodamail.co.za", 0.05), ("hotmail.com", 0.07), ("iafrica.com", 0.03),
)  # fmt: skip
MOBILE_PREFIXES = (
    "60", "61", "62", "63", "64", "65", "66", "67", "68", "71", "72", "73", "74", "76", "78",
    "79", "81", "82", "83", "84",
)  # fmt: skip

STREET_NAMES = (
    "Jacaranda", "Church", "Main", "Voortrekker", "Nelson Mandela", "Oak", "Protea", "Kerk",
    "Beach", "Long", "Victoria", "Market", "Jan Smuts", "Acacia", "Marula", "Disa", "Aloe",
    "Msasa", "Fig Tree", "Hospital", "Station", "Park", "Albertyn", "Olympus", "Kingfisher",
    "Hadeda", "Impala", "Kudu", "Rivonia", "Queen", "Walter Sisulu", "Steve Biko", "Mimosa",
    "Bougainvillea", "Wilge", "Vaal", "Umgeni", "Sunset", "Ridge", "Orange",
)  # fmt: skip
STREET_TYPES = ("Street", "Road", "Avenue", "Drive", "Crescent", "Lane", "Close")
COMPLEX_NAMES = (
    "Sunset Village", "Protea Gardens", "Fairview Estate", "Mountain View", "Palm Court",
    "Silver Oaks", "Willow Park", "Ocean Breeze", "Bushwillow", "Jasmine Place",
)  # fmt: skip

BUSINESS_SUFFIXES = ("(Pty) Ltd", "Services", "Solutions", "& Sons", "CC", "Pros", "Experts")
BUSINESS_PLACES = (
    "Highveld", "Cape", "Coastal", "Jozi", "Bay", "Lowveld", "Bushveld", "Karoo", "Metro",
    "Reliable", "Express", "Premier", "Sunrise", "Ubuntu", "Ikhaya", "Golden City",
)  # fmt: skip
WORKING_PREFERENCES = (
    "Weekdays 07:00-17:00; Saturdays by arrangement",
    "Emergency call-outs 24/7 at an after-hours rate",
    "Jobs within 40 km of our base only",
    "Prefers larger jobs; no call-outs under R500",
    "Weekdays only; quotes within 48 hours",
    "Available on weekends for residential work",
)  # fmt: skip

DESCRIPTION_EXTRAS = (
    "",
    " Urgent please.",
    " Flexible on dates.",
    " Available weekdays after 4pm.",
    " Would like two or three quotes.",
    " The complex has a gate code, phone when outside.",
    " We have dogs in the yard.",
    " Happy to send photos on WhatsApp.",
    " Tenant is home during the day.",
    " Budget is tight, looking for a fair price.",
)  # fmt: skip

COMMENTS_GOOD = (
    "Arrived on time and did a neat job.",
    "Very professional, explained everything and cleaned up afterwards.",
    "Quick response and a fair price. Would use again.",
    "Excellent work, highly recommended.",
    "Friendly team, job done in one day.",
    "Great communication from quote to completion.",
)  # fmt: skip
COMMENTS_MIXED = (
    "Good work in the end but arrived late twice.",
    "Price was higher than the quote.",
    "Job done, but had to chase them for updates.",
    "Decent work, some mess left behind.",
)  # fmt: skip
COMMENTS_BAD = (
    "Did not pitch on the agreed day and stopped answering calls.",
    "The problem came back within a week.",
    "Took a deposit and the work is still not finished.",
    "Poor workmanship, had to get someone else to fix it.",
    "Rude on the phone and overcharged.",
)  # fmt: skip
COMMENTS_ABOUT_HOMEOWNER = (
    "Friendly client, paid promptly.",
    "Clear brief and easy to work with.",
    "Changed the scope twice but paid in full.",
    "Payment was late.",
    "Not home at the agreed time.",
)  # fmt: skip

INTERACTION_NOTES = {
    "quality_control": "Checked response time and quote follow-up with the partner.",
    "dispute": "Homeowner disputes the work; partner says the job was completed as quoted.",
    "training": "Call kept as an example for new agents.",
}

CONSENT_EVIDENCE = {
    "web_form": ("web_form:request-quote/v3", "web_form:request-quote/v4", "web_form:prefs/v2"),
    "cookie_banner": ("cookie_banner:v2 accept_all", "cookie_banner:v2 custom"),
    "email": ("email:unsubscribe-link", "email:reply-stop"),
    "phone": ("phone:agent-script/v1",),
    "privacy_request": ("privacy_request",),
}
