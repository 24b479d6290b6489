"""The gateway's client-test mode: record every device's conversation, apply a fault plan.

``gridmirror conformance client`` starts a gateway with a :class:`ClientTestMode`; the
gateway then serves its 2030.5 listener as::

    recorder( listener filter( fault plan( application ) ) )

so the recorder sees every request a device makes, the ones to paths the server does not
serve included (a client that guesses URLs instead of following /dcap shows up), and
the answers the fault plan gave instead of the server. The settings of the mode (a short
postRate and mirror pollRate, so a run takes a minute or two) are the caller's: see
:func:`client_test_settings`.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.faultplan import FaultPlan, ScriptedFault
from gateway.listeners import sep2_listener
from gateway.recorder import ASGIApp, ConversationRecorder
from gateway.runtime import GatewayRuntime
from gateway.settings import GatewaySettings


class ClientTestMode:
    """Recording and scripted faults for one gateway (see the module docstring)."""

    def __init__(self, faults: Sequence[ScriptedFault]) -> None:
        self.faults = tuple(faults)
        self._recorder: ConversationRecorder | None = None
        self._plan: FaultPlan | None = None

    @property
    def recorder(self) -> ConversationRecorder:
        """The recorder (once installed)."""
        if self._recorder is None:
            raise RuntimeError("the client-test mode is not installed in a gateway")
        return self._recorder

    def install(self, runtime: GatewayRuntime, app: ASGIApp) -> ASGIApp:
        """The 2030.5 listener's application over ``app``, recorded and faulted."""
        self._recorder = ConversationRecorder(runtime.peers, runtime.clock)
        self._plan = FaultPlan(self.faults, runtime, self._recorder, runtime.clock)
        return self._recorder.wrap(sep2_listener(self._plan.wrap(app)))


def client_test_settings(settings: GatewaySettings, post_rate: int) -> GatewaySettings:
    """``settings`` for a client-test run: ``post_rate`` for every device, the mirror list
    re-read every two postRates (so a postRate change is seen within the run), no REST
    API, no DNS-SD unless asked (the CLI decides), any free port."""
    rates = settings.poll_rates.model_copy(update={"mup": 2 * post_rate})
    return settings.model_copy(
        update={"post_rate": post_rate, "poll_rates": rates, "api_enabled": False}
    )
