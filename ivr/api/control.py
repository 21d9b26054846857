"""Call control over JSON: hold, transfer, consult, hang up (docs/routing.md, "Call
controls"). Each view checks who may act on the call (`require_call`: 404 unknown call,
403 another agent's), then asks the router, whose typed refusals become 409 (the
control does not fit the call's state) or 422 (a transfer target that names nothing).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from ivr.api.actor import desk_allowed, require_call
from ivr.api.routes import api, router
from ivr.api.schemas import Open, Strict
from ivr.api.spec import ApiError
from ivr.routing.router import BadTarget, ControlRefused, UnknownCall

TAG = "call control"


class HoldBody(Strict):
    hold: bool


class TransferBody(Strict):
    to: Annotated[str, Field(min_length=2, max_length=80,
                             description='"queue:NAME", "agent:ID" or "+E164"')]
    warm: bool = False


class CompleteBody(Strict):
    three_way: bool = False


class ControlDone(Open):
    sid: str
    control: Literal["hold", "resume", "transfer", "complete", "cancel", "hangup"]
    result: Literal["ok"] = "ok"


def _run(sid: str, control: str, action: Any) -> dict[str, Any]:
    require_call(sid)
    try:
        action()
    except UnknownCall as exc:
        raise ApiError(404, f"no call {sid!r}") from exc
    except BadTarget as exc:
        raise ApiError(422, str(exc)) from exc
    except ControlRefused as exc:
        raise ApiError(409, str(exc) or "the call's state does not allow that now") from exc
    return {"sid": sid, "control": control, "result": "ok"}


@api.route("/calls/<sid>/hold", "POST", summary="Hold or resume a connected call", tag=TAG,
           body=HoldBody, response=ControlDone, errors=(403, 404, 409))
@desk_allowed
def hold_call(sid: str, body: HoldBody) -> Any:
    """The caller hears their queue's hold music and nobody hears them; `false` resumes."""
    return _run(sid, "hold" if body.hold else "resume",
                lambda: router().set_hold(sid, body.hold))


@api.route("/calls/<sid>/transfer", "POST", summary="Transfer a connected call", tag=TAG,
           body=TransferBody, response=ControlDone, errors=(403, 404, 409))
@desk_allowed
def transfer_call(sid: str, body: TransferBody) -> Any:
    """Cold (`warm: false`): to `queue:NAME` (back in line, keeping the original wait and
    priority) or to `+E164`; the agent's call ends at once."""
    return _run(sid, "transfer", lambda: router().transfer(sid, body.to, warm=body.warm))


@api.route("/calls/<sid>/transfer/complete", "POST", summary="Complete a consult", tag=TAG,
           body=CompleteBody, response=ControlDone, errors=(403, 404, 409))
@desk_allowed
def complete_transfer(sid: str, body: CompleteBody) -> Any:
    """After a consult: hand the caller over, or (`three_way`) talk all three."""
    return _run(sid, "complete",
                lambda: router().complete_transfer(sid, three_way=body.three_way))


@api.route("/calls/<sid>/transfer/cancel", "POST", summary="Cancel a consult", tag=TAG,
           response=ControlDone, errors=(403, 404, 409))
@desk_allowed
def cancel_transfer(sid: str) -> Any:
    """After a consult: the target leaves, the caller is resumed."""
    return _run(sid, "cancel", lambda: router().cancel_transfer(sid))


@api.route("/calls/<sid>/hangup", "POST", summary="End the customer's call", tag=TAG,
           response=ControlDone, errors=(403, 404, 409))
@desk_allowed
def hangup_call(sid: str) -> Any:
    """The conference ends with the caller; the agent goes on to wrap-up."""
    return _run(sid, "hangup", lambda: router().hang_up(sid))
