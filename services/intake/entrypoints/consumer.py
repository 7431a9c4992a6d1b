"""Case systems' submissions from `intake.submissions`, as contributions."""

from __future__ import annotations

from services.intake.entrypoints.schemas import ContributionSchema
from services.intake.service_layer import services
from shared.constants import ROLE_CASE_SYSTEM
from shared.platform import Platform

_contribution_schema = ContributionSchema()


def submission_handler(platform: Platform):
    def handle_submission(uow, envelope: dict) -> None:
        data = _contribution_schema.load(envelope["data"])
        submitter = services.Submitter(
            tenant=envelope["tenant"],
            role=ROLE_CASE_SYSTEM,
            identity=f"{envelope['source']}#{envelope['id']}",
        )
        services.submit_contribution(uow, submitter, data, now=platform.clock(), source=platform.source)

    return handle_submission
