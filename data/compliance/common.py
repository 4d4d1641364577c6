"""What every compliance rule returns, and the window it looks at.

A rule returns a ``Select`` with the columns :data:`VIOLATION_COLUMNS`: ``at`` (when the
violation happened, or the instant its clock runs from), the subject (``subject_type``,
``subject_id``; null when unknown), the offending record (``object_type``, ``object_id``) and
a short ``detail`` code. Rules about events (an interaction, a share, a new homeowner) take
those whose time falls in ``[start_at, end_before)``; rules about the state of the records now
(retention, overdue requests) ignore the window and use ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, literal

VIOLATION_COLUMNS = ("at", "subject_type", "subject_id", "object_type", "object_id", "detail")


@dataclass(frozen=True)
class Window:
    start_at: datetime
    end_before: datetime
    now: datetime


def text(value: str) -> Any:
    return literal(value, String())
