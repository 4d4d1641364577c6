"""Home-page headline numbers (``data/overview.py``): lead volume, contact within 24 hours,
mean partner rating and the privacy queue, in every filter variant each one accepts."""

from __future__ import annotations

from benchmarks.cases import BenchContext, Case, filtered
from data import overview


def cases(ctx: BenchContext) -> list[Case]:
    return [
        *filtered(ctx, "overview.lead_volume", overview.lead_volume),
        *filtered(ctx, "overview.contact_within_24h", overview.contact_within_24h),
        *filtered(ctx, "overview.mean_partner_rating", overview.mean_partner_rating),
        *filtered(ctx, "overview.privacy_queue", overview.privacy_queue),
    ]
