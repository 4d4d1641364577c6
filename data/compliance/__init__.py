"""The compliance monitor: where the data shows the business broke its own promises.

Each rule is a plain function returning a SQL ``Select`` of its violations with the same
columns (:data:`data.compliance.common.VIOLATION_COLUMNS`), so that counting them over time and
listing them is one piece of code (:mod:`data.compliance.monitor`) for every rule:

* :mod:`data.compliance.consent_rules` — marketing after a withdrawal, recordings without
  consent, leads shared after a withdrawal or a service opt-out request (read consent through
  the one definition, :func:`data.consent.current.state_at`);
* :mod:`data.compliance.records` — personal data past retention (the retention sweep's own
  conditions), suppressed contacts reappearing as new homeowners, access requests past their
  due date (deemed refusals, the privacy clock's rule).

Definitions in docs/consent.md.
"""
