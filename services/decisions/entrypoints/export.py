"""Outcome chains exported from decisions' own database, for staff and auditors.

JSON: a list of chains, each exactly as `GET /v1/contributions/{id}/outcome-chain` answers.
CSV: one row per contribution-decision link. Neither carries contact details: decisions
never holds them.
"""

from __future__ import annotations

import csv
import json
from typing import TextIO

from services.decisions.service_layer import views
from shared.infra.platform import Platform
from shared.rules.domain import UK

FORMATS = ("csv", "json")


def write_chains(platform: Platform, out: TextIO, *, tenant: str, engagement_id: str | None, fmt: str) -> int:
    """Write the chains to `out`; returns how many contributions were exported."""
    today = platform.clock().astimezone(UK).date()
    chains = views.outcome_chains(lambda: platform.uow(read_only=True), tenant, engagement_id, today=today)
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=views.CHAIN_CSV_COLUMNS)
        writer.writeheader()
        for chain in chains:
            writer.writerows(views.outcome_chain_rows(chain))
            count += 1
        return count
    out.write("[")
    for chain in chains:
        out.write(("," if count else "") + "\n" + json.dumps(chain, ensure_ascii=False))
        count += 1
    out.write("\n]\n")
    return count
