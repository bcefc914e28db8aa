"""The action server's HTTP app: rasa_sdk's own, plus the token check and sane timeouts.

rasa_sdk's `run` builds the app and starts it in one call, listening on SANIC_HOST (all
interfaces by default). Building it here instead lets the token check (server_auth.py) run
before every route, sets Sanic's timeouts, and binds to ACTIONS_HOST: loopback unless the
operator moves it, whatever HOST the Rasa server uses.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Mapping

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_app, create_ssl_context
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic

from actions import server_auth

logger = logging.getLogger(__name__)

HOST_ENV = "ACTIONS_HOST"
DEFAULT_HOST = "127.0.0.1"
# Seconds to receive a whole request: a client that trickles bytes is cut off.
REQUEST_TIMEOUT = 15
# Seconds an action may take (a lead written to a slow database included).
RESPONSE_TIMEOUT = 60
# Idle seconds a connection stays open: longer than the Rasa server keeps its own
# (channels/speedups.py KEEPALIVE_SECONDS), so the client always closes first.
KEEP_ALIVE_TIMEOUT = 5
# A tracker is one conversation session's events: far below this.
REQUEST_MAX_SIZE = 10_000_000


def host(environ: Mapping[str, str] = os.environ) -> str:
    return environ.get(HOST_ENV) or DEFAULT_HOST


def build_app(args: argparse.Namespace, token: str) -> Sanic:
    """rasa_sdk's app for `args.actions`, refusing every request without the token."""
    app = create_app(args.actions, cors_origins=args.cors, auto_reload=args.auto_reload)
    server_auth.require_token(app, token)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)  # as rasa_sdk's run does
    app.config.REQUEST_TIMEOUT = REQUEST_TIMEOUT
    app.config.RESPONSE_TIMEOUT = RESPONSE_TIMEOUT
    app.config.KEEP_ALIVE_TIMEOUT = KEEP_ALIVE_TIMEOUT
    app.config.REQUEST_MAX_SIZE = REQUEST_MAX_SIZE
    return app


def serve(args: argparse.Namespace, token: str) -> None:
    """Configure logging as rasa_sdk's command line does, then serve until stopped."""
    logging.getLogger("matplotlib").setLevel(logging.WARN)
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), args.log_file, args.loglevel, args.logging_config_file
    )
    utils.update_sanic_log_level()
    app = build_app(args, token)
    ssl_context = create_ssl_context(args.ssl_certificate, args.ssl_keyfile, args.ssl_password)
    address = host()
    logger.info(
        "Action endpoint is up and running on %s://%s:%d", "https" if ssl_context else "http", address, args.port
    )
    app.run(address, args.port, ssl=ssl_context, workers=utils.number_of_sanic_workers())
