"""The twilio-python REST client, pointed at `TWILIO_API_URL`.

Every REST call the server makes (calling an agent, redirecting or cancelling
a call, sending a text) goes through this client, so the local Twilio
simulator in `ivr.sim` can answer them in tests and in `ivr simulate`.
"""

from __future__ import annotations

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from ivr.config import Config

# Placeholder credentials in dev mode: the simulator accepts them, Twilio will not.
DEV_ACCOUNT_SID = "AC" + "0" * 32
DEV_AUTH_TOKEN = "dev-token"
REST_TIMEOUT = 5.0  # seconds; webhooks that make REST calls must still answer in time


def make_twilio_client(config: Config) -> Client:
    client = Client(
        config.twilio_account_sid or DEV_ACCOUNT_SID,
        config.twilio_auth_token or DEV_AUTH_TOKEN,
        http_client=TwilioHttpClient(timeout=REST_TIMEOUT),
    )
    # Calls and Messages live in the 2010-04-01 "api" domain.
    client.api.base_url = config.twilio_api_url
    return client
