"""A canned IVR as an importable WSGI app, for the gunicorn load test of the simulator."""

from __future__ import annotations

from flask import Flask, Response, request

app = Flask("wsgi_menu")


def _twiml(body: str) -> Response:
    return Response(f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>',
                    mimetype="text/xml")


@app.post("/twilio/voice")
def voice() -> Response:
    return _twiml('<Say>Welcome.</Say><Gather numDigits="1" action="/menu">'
                  "<Say>Press 1 or 2.</Say></Gather><Say>Goodbye.</Say>")


@app.post("/menu")
def menu() -> Response:
    return _twiml(f"<Say>You chose {request.form.get('Digits', '')}.</Say><Hangup/>")


@app.post("/twilio/voice/status")
def status() -> Response:
    return Response("", status=204)
