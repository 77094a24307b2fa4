"""``POST /v1/gate``: gate a comparison under a policy, synchronously.

The gate is a pure function of a comparison and a policy (milliseconds), so it needs no job;
a pipeline that ran its eval elsewhere can post the comparison here. Gate jobs do the same
over an eval job's comparison and keep the reports as artifacts.
"""

from __future__ import annotations

from litestar import Controller, Request, post
from pydantic import BaseModel, ConfigDict, Field

import evalsuite
from api import bodies
from api.controllers import problems
from evalsuite import Comparison, GateDecision, GatePolicy


class GateRequest(BaseModel):
    """A comparison to gate and the policy to gate it with."""

    model_config = ConfigDict(extra="forbid")

    comparison: Comparison
    """A comparison of base and tuned runs (``comparison.json`` of an eval)."""
    policy: GatePolicy = Field(default_factory=GatePolicy)
    """What the tuned model must show."""


class GateController(Controller):
    """The regression gate."""

    path = "/v1/gate"
    tags = ("eval",)
    security = ({"bearer": []},)

    @post("/", status_code=200, summary="Gate a comparison", responses=problems(400, 413, 415, 422))
    async def decide(self, request: Request) -> GateDecision:
        """pass, fail or inconclusive, with reasons. The HTTP status is 200 whatever the
        verdict: the request succeeded; the verdict is in the body."""
        data = await bodies.read(request, GateRequest)
        return evalsuite.gate(data.comparison, data.policy)
