"""Email addresses and phone numbers masked in every log record a server process makes.

The second line of defence: the error paths that used to log what a visitor typed are fixed
where they start (channels/visitor_rest.py, channels/privacy_patches.py,
actions/failure_response.py), but a library's message or an exception's text may still quote
a value. Masking at record creation (a log record factory) rather than in a handler's filter
holds whichever handlers Rasa, rasa_sdk or Sanic set up later, and covers records of every
logger, not only of the one a filter is attached to. Names cannot be recognised in free text:
only the sources' fixes keep them out.
"""

from __future__ import annotations

import logging
from typing import Any

from actions.privacy.masking import mask_contact_details

_previous_factory: Any = None


def _masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record: logging.LogRecord = _previous_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # left as it is: the handler reports the bad format, as logging always does
        return record
    masked = mask_contact_details(message)
    if masked != message:
        record.msg, record.args = masked, ()
    if record.exc_info and record.exc_info[0] is not None:
        # Rendered now, as a formatter would (it reuses exc_text), so the text can be masked.
        record.exc_text = mask_contact_details(logging.Formatter().formatException(record.exc_info))
    return record


def install() -> None:
    """Every log record made from now on in this process is masked; installing twice is harmless."""
    global _previous_factory
    if _previous_factory is None:
        _previous_factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_masked_record)


def uninstall() -> None:
    """Puts back the record factory that was there before install()."""
    global _previous_factory
    if _previous_factory is not None:
        logging.setLogRecordFactory(_previous_factory)
        _previous_factory = None
