"""The baseline: a bare Flask app answering constant TwiML, nothing else."""

from flask import Flask, Response
from twilio.twiml.voice_response import VoiceResponse

app = Flask(__name__)

_response = VoiceResponse()
_gather = _response.gather(input="dtmf speech", num_digits=1, action="/twilio/voice/step?seq=1")
_gather.say("Thanks for calling. For sales press 1. For billing press 2.")
_response.say("Sorry, I didn't catch that.")
BODY = str(_response)


@app.post("/<path:path>")
def answer(path: str) -> Response:
    return Response(BODY, mimetype="text/xml")
