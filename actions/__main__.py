"""`python -m actions`: validate the knowledge base, then start the action server.

Starting through here (rather than `rasa run actions`) means a broken knowledge file stops
the server at once with `file: entry: field: reason`, instead of failing on a visitor's
first question.

It also keeps contact details out of the logs on error paths: every log record is masked
(actions/privacy/log_masking.py), and a failing action answers without the tracker
(actions/failure_response.py). It refuses to start without ACTIONS_TOKEN, the secret the
Rasa server sends with every call (actions/server_auth.py), and listens on ACTIONS_HOST
(actions/action_server.py).
"""

from __future__ import annotations

import sys

from rasa_sdk.endpoint import create_argument_parser

from actions import action_server, failure_response, knowledge, language, server_auth
from actions.inquiry import intake, runtime
from actions.inquiry.store import StoreUnavailable
from actions.privacy import log_masking


def main(argv: list[str] | None = None) -> int:
    parser = create_argument_parser()
    parser.set_defaults(actions="actions")
    args = parser.parse_args(argv)
    log_masking.install()
    failure_response.install()
    try:
        kb = knowledge.current()
    except knowledge.KnowledgeError as error:
        print(f"Cannot start the action server: {error}", file=sys.stderr)
        return 2
    language.current()  # build the matchers now, not on the first visitor's message
    try:
        runtime.lead_store().ensure_schema()
    except StoreUnavailable as error:  # questions can still be answered; leads will apologise
        print(f"Warning: {error}; inquiries cannot be saved until it is reachable", file=sys.stderr)
    try:
        runtime.retention_policy()  # every setting checked before anything starts
        token = server_auth.token_from_env()
        intake.address_limit()
        runtime.start_delivery()
        runtime.start_retention()
    except ValueError as error:
        print(f"Cannot start the action server: {error}", file=sys.stderr)
        return 2
    print(f"Knowledge base: {len(kb.programs)} programs, {len(kb.campuses)} campuses ({knowledge.knowledge_dir()})")
    action_server.serve(args, token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
