"""Overview: headline numbers chosen by role (marketing sees aggregate KPIs only).

Which KPI group each role gets is a capability in ``data/roles.py`` (``overview_*``), not a
role set kept here, so the overview cannot drift from the rest of the role rules.
"""

from __future__ import annotations

import dash
from dash import html

from components.kpi import alert_class, fmt_change, fmt_int, fmt_pct, kpi_card, kpi_row
from data import overview
from data.db import read_connection
from data.timeutil import today
from guard import ALL_ROLES, current_role_can

dash.register_page(
    __name__,
    path="/",
    name="Overview",
    title="Overview · Partner Operations",
    allowed_roles=sorted(ALL_ROLES),
    id_prefix="home",
    nav_order=0,
)


def layout(**_query: str) -> html.Div:
    as_of = today()
    cards = []
    with read_connection() as conn:
        if current_role_can("overview_lead_volume"):
            volume = overview.lead_volume(conn, as_of)
            cards.append(
                kpi_card(
                    "Leads, last 30 days",
                    fmt_int(volume.current),
                    fmt_change(volume.change),
                    id_="home-kpi-leads",
                )
            )
        if current_role_can("overview_partner_kpis"):
            contact = overview.contact_within_24h(conn, as_of)
            cards.append(
                kpi_card(
                    "Contacted within 24 h",
                    fmt_pct(contact.share),
                    f"of {fmt_int(contact.shares)} shares, last 30 days",
                    id_="home-kpi-contact",
                )
            )
            rating = overview.mean_partner_rating(conn, as_of)
            cards.append(
                kpi_card(
                    "Mean partner rating",
                    "–" if rating.mean is None else f"{rating.mean:.2f} / 5",
                    f"{fmt_int(rating.reviews)} reviews, last 90 days",
                    id_="home-kpi-rating",
                )
            )
        if current_role_can("overview_privacy_kpis"):
            queue = overview.privacy_queue(conn, as_of)
            cards.append(
                kpi_card(
                    "Open privacy requests",
                    fmt_int(queue.open),
                    f"{fmt_int(queue.overdue)} overdue",
                    id_="home-kpi-privacy",
                    note_class=alert_class(queue.overdue > 0),
                )
            )
    return html.Div(
        [
            html.H2("Overview", className="page-title"),
            html.P(f"Figures as of {as_of:%d %B %Y}.", className="text-muted"),
            kpi_row(cards),
        ],
        id="home-page",
    )
