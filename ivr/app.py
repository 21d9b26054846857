"""The application factory (Flask's tutorial pattern).

`create_app` connects Redis (the embedded server when `REDIS_URL` is unset),
loads the call-flow folder, builds the engine and the router, and registers
the blueprints. Everything long-lived goes into `app.extensions`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

from ivr.config import Config
from ivr.store import EmbeddedRedis, connect
from ivr.twilio_client import make_twilio_client

# Twilio's largest webhook (an SMS of 1,600 characters with media) is far below this.
MAX_WEBHOOK_BYTES = 64 * 1024


def create_app(config: Config | Mapping[str, Any] | None = None) -> Flask:
    cfg = config if isinstance(config, Config) else Config.from_env().with_overrides(config)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_WEBHOOK_BYTES
    app.extensions["ivr.config"] = cfg
    _configure_logging(app)

    redis_url = cfg.redis_url or EmbeddedRedis(cfg.data_dir).start(daemonize=True)
    store = connect(redis_url)
    app.extensions["ivr.redis"] = store
    twilio = make_twilio_client(cfg)
    app.extensions["ivr.twilio"] = twilio

    from ivr.flows.registry import FlowRegistry

    # Loads (and checks) the folder now; problems are logged with FILE:LINE:COL.
    flows = FlowRegistry(cfg.callflows, interval=cfg.reload_interval, recordings=cfg.recordings)
    app.extensions["ivr.flows"] = flows

    from ivr.routing.router import Router
    from ivr.urls import PublicUrl

    # One per worker: the web layer learns the base from Twilio's webhooks, the router reads it.
    urls = PublicUrl(store, cfg.public_url)
    app.extensions["ivr.urls"] = urls
    router = Router(store, lambda: flows.current, twilio, public_url=urls)
    app.extensions["ivr.router"] = router

    from ivr.flows.engine import VoiceEngine

    app.extensions["ivr.engine"] = VoiceEngine(store, flows, twilio, router, cfg)

    from ivr.flows.texting import TextEngine

    app.extensions["ivr.texting"] = TextEngine(store, flows, twilio, router, cfg)

    from ivr.flows.chat_relay import ChatRelay

    # Texts of conversations with agents (offers, relayed messages), from any worker.
    router.chats.retention_days = cfg.retention_days
    app.extensions["ivr.chat_relay"] = ChatRelay(store, twilio, router.chats,
                                                 lambda: flows.current, router.agent)
    router.chats.texter_turn = app.extensions["ivr.texting"].turns.turn

    from ivr.reports import Reporting

    reporting = Reporting(store, flows, router, cfg)
    app.extensions["ivr.reports"] = reporting
    app.extensions["ivr.texting"].contacts = reporting
    app.extensions["ivr.chat_relay"].survey = reporting.chat_survey  # texted after DONE
    router.timers.ticks.append(reporting.reports.tick)  # the event log folded as the day goes

    import ivr.api
    import ivr.api.metrics
    import ivr.desk.web
    import ivr.wallboard
    from ivr.webhooks import health, monitor, queue, recording, sms, voice

    app.register_blueprint(health.bp)
    app.register_blueprint(voice.bp)
    app.register_blueprint(sms.bp)
    app.register_blueprint(queue.bp)
    app.register_blueprint(recording.bp)  # and the recordings' timers (ivr/recordings)
    app.register_blueprint(monitor.bp)  # supervisors' monitor legs (ivr/routing/monitor.py)
    app.register_blueprint(ivr.api.bp)
    app.register_blueprint(ivr.wallboard.bp)
    ivr.desk.web.install(app)  # /desk, and the desk sessions that the API accepts
    ivr.api.metrics.install(app)  # live queue gauges in /metrics

    if cfg.background:
        flows.start()
        router.start()
    return app


def _configure_logging(app: Flask) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    # twilio-python logs every REST request and response header at INFO.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
