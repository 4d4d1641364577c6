"""Consent: who agreed to what, and who withdrew.

* :mod:`data.consent.current` — the one definition of current consent (latest event wins).
* :mod:`data.consent.filters` — the page's filters as a value the queries take.
* :mod:`data.consent.rollup` / :mod:`data.consent.models` — daily sums that keep coverage and
  trends cheap; kept equal to the base tables by :mod:`data.consent.rollup_upkeep`'s session
  hooks, installed when this package is imported.
* :mod:`data.consent.coverage` — coverage per purpose and by source site (counts and shares).
* :mod:`data.consent.trends` — opt-ins and opt-outs over time, the analytics opt-out rate.
* :mod:`data.consent.base` — the same numbers straight from the event log (the test oracle).
* :mod:`data.consent.digests` — each homeowner's do-not-contact digests, kept on the row for
  the compliance monitor's join.
* :mod:`data.consent.people` — one person's history and the suppression list (people-level:
  privacy officers and admins only).

The compliance rules that read consent are in :mod:`data.compliance`.
"""

from data.consent import digests as _digests  # noqa: F401  (installs the session hooks)
from data.consent import rollup_upkeep as _upkeep  # noqa: F401  (installs the session hooks)
