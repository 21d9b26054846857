"""A Twilio simulator for tests and `ivr simulate`: see ivr/sim/README.md."""

from ivr.sim.harness import RunningProcess, RunningServer, run_gunicorn, serve_wsgi
from ivr.sim.people import Caller, Hangup, Phone, Record, Silence, Speech
from ivr.sim.records import SimMessage
from ivr.sim.twilio import SimCall, TwilioSim

__all__ = [
    "Caller", "Hangup", "Phone", "Record", "RunningProcess", "RunningServer", "SimCall",
    "SimMessage", "Silence", "Speech", "TwilioSim", "run_gunicorn", "serve_wsgi",
]
