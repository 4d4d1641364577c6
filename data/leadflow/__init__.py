"""The lead-flow page's numbers (``/leads``): where leads come from, where they stall, and how
fast partners respond.

Every function takes a connection and a :class:`LeadFlowFilters` and returns a DataFrame or a
dataclass, aggregated in SQL from the lead-flow rollups (``data.rollups.lead_flow``), except the
operations list, which reads recent base rows through their indexes. Definitions (what counts
as shared, contacted, hired, the 30-day window, how medians are estimated) are in
``docs/lead-flow.md``.

* :mod:`data.leadflow.filters`: the filters, the choice of rollup level, the common reader.
* :mod:`data.leadflow.measures`: pure arithmetic (rates, medians from histograms, changes).
* :mod:`data.leadflow.funnel`: headline numbers and the funnel.
* :mod:`data.leadflow.series`: leads over time, weekly cohorts, time to first contact,
  provinces, the Sankey's transitions.
* :mod:`data.leadflow.operations`: the operations list (uncontacted and prospective leads).
"""

from data.leadflow.filters import BREAKDOWNS, STEP_LABELS, LeadFlowFilters, lookups
from data.leadflow.funnel import Headline, funnel, headline
from data.leadflow.measures import median_from_histogram
from data.leadflow.operations import operations_list
from data.leadflow.series import (
    auto_grain,
    contact_by_trade,
    first_contact_distribution,
    leads_over_time,
    province_breakdown,
    transitions,
    weekly_cohorts,
)

__all__ = [
    "BREAKDOWNS",
    "STEP_LABELS",
    "Headline",
    "LeadFlowFilters",
    "auto_grain",
    "contact_by_trade",
    "first_contact_distribution",
    "funnel",
    "headline",
    "leads_over_time",
    "lookups",
    "median_from_histogram",
    "operations_list",
    "province_breakdown",
    "transitions",
    "weekly_cohorts",
]
