"""Durable lead storage: SQLite by default, PostgreSQL (or any SQLAlchemy URL) by setting.

A lead's id is chosen when the form starts, so saving the same submission twice (a
double click, a retried action call) stores it once. The table's schema comes from the
migrations (migrations/): every store upgrades its database to the newest one on first use.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.util import CommandError
from sqlalchemy.exc import IntegrityError

from actions.inquiry import fields, migrate
from actions.inquiry.page_address import is_text

DATABASE_URL_ENV = "LEADS_DATABASE_URL"
RUNTIME_DIR = Path(__file__).resolve().parents[2] / "runtime"
# pending: the CRM has not taken it yet and it is due again at `next_attempt_at`;
# delivered: the CRM answered 2xx; failed: refused for good, or given up on (`last_error` says why).
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
STATUSES = (PENDING, DELIVERED, FAILED)
# The answers that identify a person: a new lead with the same one soon after is a repeat.
CONTACT_COLUMNS = ("email", "phone")
CLAIM_LENGTH = 128  # a delivery claim's token: host, process id and a random part
_CLAIM_COLUMNS = ("claimed_by", "claimed_until")

metadata = sa.MetaData()
# The lead's bookkeeping, then one column per answer the form's fields declare (fields.py).
# The database gets its columns from the migrations; tests check the two agree.
leads = sa.Table(
    "leads",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("conversation_id", sa.String(255), nullable=False),
    sa.Column("page_url", sa.Text),
    sa.Column("questions", sa.Text, nullable=False, default="[]"),
    sa.Column("transcript", sa.Text, nullable=False, default="[]"),  # JSON: [{"role", "text"}...]
    sa.Column("delivery_status", sa.String(16), nullable=False, default=PENDING, index=True),
    sa.Column("delivery_attempts", sa.Integer, nullable=False, default=0),
    sa.Column("delivered_at", sa.DateTime(timezone=True)),
    sa.Column("last_error", sa.Text),
    sa.Column("exported_at", sa.DateTime(timezone=True)),  # first export: starts its retention too
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), index=True),  # pending leads only
    # The delivery process sending it now, until when (a lease: a process that dies mid-POST
    # holds the lead only until then). Internal: never exported, not part of a Lead.
    sa.Column("claimed_by", sa.String(CLAIM_LENGTH)),
    sa.Column("claimed_until", sa.DateTime(timezone=True)),
    *(column.sa_column() for column in fields.columns()),
)
# One row per erasure on request: proof it was done, without the person (a salted hash).
erasures = sa.Table(
    "erasures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("identifier_hash", sa.String(64), nullable=False),
    sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("leads_deleted", sa.Integer, nullable=False),
    sa.Column("conversations_deleted", sa.Integer, nullable=False),
)
# Every time column, bookkeeping's and answers' (consent moments): SQLite returns them naive.
_TIMES = tuple(column.name for column in leads.c if isinstance(column.type, sa.DateTime))


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def json_value(value: Any) -> Any:
    """A stored value as JSON carries it (export, CRM payload): times in ISO 8601, UTC."""
    return value.isoformat() if isinstance(value, datetime) else value


@dataclass
class Lead:
    """One visitor's inquiry: their answers, keyed by the fields' column names, and our bookkeeping."""

    conversation_id: str
    answers: dict[str, Any]
    page_url: str | None = None
    questions: list[str] = field(default_factory=list)
    # The conversation before the form, masked and capped (transcript.py): {"role", "text"} each.
    transcript: list[dict[str, str]] = field(default_factory=list)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: datetime = field(default_factory=utc_now)
    delivery_status: str = PENDING
    delivery_attempts: int = 0
    delivered_at: datetime | None = None
    last_error: str | None = None
    exported_at: datetime | None = None
    next_attempt_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.delivery_status == PENDING and self.next_attempt_at is None:  # a new lead is due at once
            self.next_attempt_at = self.created_at.astimezone(timezone.utc)

    def values(self) -> dict[str, Any]:
        """Every stored value by column name: the row, and what the export and the payload pick from."""
        bookkeeping = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "answers"}
        return {**bookkeeping, **self.answers}

    def row(self) -> dict[str, Any]:
        """The values as the table holds them: the lists as JSON text."""
        return {**self.values(), "questions": json.dumps(self.questions), "transcript": json.dumps(self.transcript)}

    def __repr__(self) -> str:  # never show contact details in logs or tracebacks
        return f"Lead(id={self.id!r}, status={self.delivery_status!r})"


class StoreUnavailable(RuntimeError):
    """The lead could not be written; the visitor must not be told it was."""


def default_url() -> str:
    url = os.environ.get(DATABASE_URL_ENV)
    if url:
        return url
    RUNTIME_DIR.mkdir(exist_ok=True)
    return f"sqlite:///{RUNTIME_DIR / 'leads.sqlite3'}"


class LeadStore:
    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        options = {"connect_args": {"timeout": 30}} if self.url.startswith("sqlite") else {"pool_pre_ping": True}
        self._engine = sa.create_engine(self.url, future=True, **options)
        if self._engine.dialect.name == "sqlite":
            # An erased or purged lead leaves no readable trace in the file's free pages.
            sa.event.listen(self._engine, "connect", _zero_freed_space)
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    def ensure_schema(self) -> None:
        """Migrate the database to the newest schema on first use, so a database that is down
        delays nothing else."""
        with self._schema_lock:
            if self._schema_ready:
                return
            try:
                with self._engine.begin() as connection:
                    migrate.upgrade(connection)
            except CommandError as error:  # e.g. a database migrated by a newer version of this code
                raise StoreUnavailable(f"lead store schema cannot be upgraded: {error}") from None
            except sa.exc.SQLAlchemyError as error:
                raise StoreUnavailable(f"lead store unavailable ({type(error).__name__})") from None
            self._schema_ready = True

    def save(self, lead: Lead) -> bool:
        """Write the lead durably; False when a lead with this id was already saved."""
        _storable(lead.values())
        row = lead.row()
        self.ensure_schema()
        try:
            with self._engine.begin() as connection:
                connection.execute(leads.insert().values(**row))
        except IntegrityError:
            if self.get(lead.id) is not None:
                return False
            raise StoreUnavailable("lead could not be saved (integrity error)") from None
        except sa.exc.SQLAlchemyError as error:
            raise StoreUnavailable(f"lead store unavailable ({type(error).__name__})") from None
        return True

    def get(self, lead_id: str) -> Lead | None:
        self.ensure_schema()
        with _reachable(), self._engine.connect() as connection:
            row = connection.execute(leads.select().where(leads.c.id == lead_id)).mappings().first()
        return _lead(row) if row else None

    def latest_repeat(self, lead: Lead, since: datetime) -> Lead | None:
        """The newest other lead created at or after `since` (aware) with the same email (in
        any case) or the same phone: the same person asking again."""
        same = [
            sa.func.lower(leads.c[column]) == str(lead.answers[column]).lower()
            for column in CONTACT_COLUMNS
            if lead.answers.get(column)
        ]
        if not same:
            return None
        query = (
            leads.select()
            # In UTC, as every time is stored: SQLite compares times as text and drops the offset.
            .where(sa.or_(*same), leads.c.created_at >= since.astimezone(timezone.utc), leads.c.id != lead.id)
            .order_by(leads.c.created_at.desc(), leads.c.id)
            .limit(1)
        )
        self.ensure_schema()
        with _reachable(), self._engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        return _lead(row) if row else None

    def replace(self, lead_id: str, lead: Lead) -> bool:
        """The earlier lead `lead_id` takes `lead`'s answers, conversation, page, questions and transcript,
        keeping its id and creation time, and is sent to the CRM again (pending, with no
        attempts yet); False when there is no such lead any more."""
        values = {
            **lead.answers,
            "conversation_id": lead.conversation_id,
            "page_url": lead.page_url,
            "questions": json.dumps(lead.questions),
            "transcript": json.dumps(lead.transcript),
            "delivery_status": PENDING,
            "delivery_attempts": 0,
            "delivered_at": None,
            "last_error": None,
            "next_attempt_at": utc_now(),  # due at once, like a new lead
        }
        _storable({**values, "questions": lead.questions, "transcript": lead.transcript})
        self.ensure_schema()
        with _reachable(), self._engine.begin() as connection:
            updated = connection.execute(leads.update().where(leads.c.id == lead_id).values(**values)).rowcount
        return bool(updated)

    def all(self, since: datetime | None = None) -> Iterator[Lead]:
        """Leads created at or after `since` (an aware time), oldest first."""
        query = leads.select().order_by(leads.c.created_at, leads.c.id)
        if since:
            # In UTC, as every time is stored: SQLite compares times as text and drops the offset.
            query = query.where(leads.c.created_at >= since.astimezone(timezone.utc))
        self.ensure_schema()
        with self._engine.connect() as connection:
            for row in connection.execute(query).mappings():
                yield _lead(row)

    def pending(self, limit: int = 100) -> list[Lead]:
        query = leads.select().where(leads.c.delivery_status == PENDING).order_by(leads.c.created_at).limit(limit)
        self.ensure_schema()
        with self._engine.connect() as connection:
            return [_lead(row) for row in connection.execute(query).mappings()]

    def due(self, now: datetime, after: Lead | None = None, limit: int = 100) -> list[Lead]:
        """Pending leads whose next attempt is due at `now`, oldest first; with `after`, only
        those that come after that lead in this order (one pass walks the queue once)."""
        query = leads.select().where(_due(now, after)).order_by(leads.c.created_at, leads.c.id).limit(limit)
        self.ensure_schema()
        with self._engine.connect() as connection:
            return [_lead(row) for row in connection.execute(query).mappings()]

    def claim(
        self,
        due_at: datetime,
        claim: str,
        lease: timedelta,
        after: Lead | None = None,
        now: datetime | None = None,
    ) -> Lead | None:
        """Take the oldest lead due at `due_at` (after `after`, as `due` walks) that no other
        process holds now, for `lease`: marked with `claim`, a token unique to this claim, until
        `now + lease` (`now`: this moment unless given). None when there is none left.

        One statement takes it, so two processes never hold the same lead: on PostgreSQL the
        candidate row is locked with FOR UPDATE SKIP LOCKED (a process skips what another is
        claiming instead of waiting for it); SQLite runs one writing statement at a time and the
        UPDATE re-checks the lease. A process that dies holding a lead holds it until the lease
        ends; then any process may claim it again.
        """
        if not claim or len(claim) > CLAIM_LENGTH:
            raise ValueError(f"a delivery claim is 1 to {CLAIM_LENGTH} characters")
        now = (now or utc_now()).astimezone(timezone.utc)
        free = sa.or_(leads.c.claimed_until.is_(None), leads.c.claimed_until <= now)
        oldest = (
            sa.select(leads.c.id)
            .where(_due(due_at, after), free)
            .order_by(leads.c.created_at, leads.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)  # PostgreSQL's; SQLite's compiler leaves it out
            .correlate(None)  # its own `leads`, not the updated row's
            .scalar_subquery()
        )
        take = (
            leads.update()
            .where(leads.c.id == oldest, leads.c.delivery_status == PENDING, free)
            .values(claimed_by=claim, claimed_until=now + lease)
        )
        self.ensure_schema()
        with _reachable(), self._engine.begin() as connection:
            if not connection.execute(take).rowcount:
                return None
            row = connection.execute(leads.select().where(leads.c.claimed_by == claim)).mappings().first()
        return _lead(row) if row else None

    def mark_delivered(self, lead_id: str, claim: str | None = None) -> None:
        """The CRM took it. Recorded whoever holds the lead now: a delivery is never undone."""
        self._count_attempt(
            lead_id,
            claim,
            delivery_status=DELIVERED,
            delivered_at=utc_now(),
            last_error=None,
            next_attempt_at=None,
        )

    def record_failure(self, lead_id: str, reason: str) -> None:
        self._count_attempt(lead_id, last_error=reason[:500])

    def schedule_retry(self, lead_id: str, reason: str, at: datetime, claim: str | None = None) -> None:
        """The attempt failed for now: the lead stays pending and is next due `at`."""
        self._count_attempt(
            lead_id, claim, last_error=reason[:500], next_attempt_at=at.astimezone(timezone.utc), only_pending=True
        )

    def mark_failed(self, lead_id: str, reason: str, claim: str | None = None) -> None:
        """The attempt failed for good: the lead leaves the delivery queue until staff re-queue it."""
        self._count_attempt(
            lead_id,
            claim,
            delivery_status=FAILED,
            last_error=reason[:500],
            next_attempt_at=None,
            only_pending=True,
        )

    def claim_of(self, lead_id: str) -> tuple[str | None, datetime | None]:
        """Who holds the lead for delivery and until when (None, None when nobody does)."""
        self.ensure_schema()
        query = sa.select(leads.c.claimed_by, leads.c.claimed_until).where(leads.c.id == lead_id)
        with _reachable(), self._engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None or row.claimed_by is None:
            return None, None
        return row.claimed_by, as_utc(row.claimed_until)

    def requeue(self, lead_id: str, at: datetime) -> bool:
        """Make a pending or failed lead due `at` (failed ones pending again); False for an
        unknown or delivered lead. Its attempts and last error are kept for the record."""
        self.ensure_schema()
        with self._engine.begin() as connection:
            updated = connection.execute(
                leads.update()
                .where(leads.c.id == lead_id, leads.c.delivery_status.in_((PENDING, FAILED)))
                .values(delivery_status=PENDING, next_attempt_at=at.astimezone(timezone.utc))
            )
        return bool(updated.rowcount)

    def make_pending_due(self, at: datetime) -> int:
        """Every pending lead due `at` (staff asked to deliver now); how many are pending."""
        self.ensure_schema()
        with self._engine.begin() as connection:
            updated = connection.execute(
                leads.update()
                .where(leads.c.delivery_status == PENDING)
                .values(next_attempt_at=at.astimezone(timezone.utc))
            )
        return int(updated.rowcount)

    def ids_starting_with(self, prefix: str, limit: int = 10) -> list[str]:
        """Ids that start with `prefix` (what `leads list` shows), to find a lead staff name."""
        if not prefix or not all(c in "0123456789abcdefABCDEF-" for c in prefix):
            return []  # only an id's own characters: no LIKE wildcards from the command line
        query = sa.select(leads.c.id).where(leads.c.id.like(prefix.lower() + "%")).order_by(leads.c.id).limit(limit)
        self.ensure_schema()
        with self._engine.connect() as connection:
            return list(connection.execute(query).scalars())

    def _count_attempt(self, lead_id: str, claim: str | None = None, only_pending: bool = False, **values: Any) -> None:
        """Record a delivery round's outcome: a round that succeeded is an attempt too.

        `only_pending`: a failure never overwrites a delivery recorded meanwhile (by another
        process, or `leads retry` running beside the action server's worker). `claim`: the
        claim this attempt was made under is released, and only that one: a process whose
        lease ran out never frees a claim another process has taken since.
        """
        query = leads.update().where(leads.c.id == lead_id)
        if only_pending:
            query = query.where(leads.c.delivery_status == PENDING)
        if claim is not None:
            ours = leads.c.claimed_by == claim
            values["claimed_by"] = sa.case((ours, None), else_=leads.c.claimed_by)
            values["claimed_until"] = sa.case((ours, None), else_=leads.c.claimed_until)
        with self._engine.begin() as connection:
            connection.execute(query.values(delivery_attempts=leads.c.delivery_attempts + 1, **values))

    def mark_exported(self, lead_ids: Iterable[str], at: datetime) -> None:
        """Record the first export of each lead: from then on the lead may age out (retention)."""
        ids = list(lead_ids)
        if not ids:
            return
        with self._engine.begin() as connection:
            connection.execute(
                leads.update().where(leads.c.id.in_(ids), leads.c.exported_at.is_(None)).values(exported_at=at)
            )

    def handed_over_before(self, cutoff: datetime) -> list[str]:
        """Ids of the leads delivered or exported before `cutoff`; a lead never handed over
        is never among them, however old."""
        query = sa.select(leads.c.id).where(
            sa.or_(leads.c.delivered_at < cutoff, leads.c.exported_at < cutoff)  # NULL compares false
        )
        self.ensure_schema()
        with self._engine.connect() as connection:
            return list(connection.execute(query).scalars())

    def matching(self, column: str, value: str) -> list[Lead]:
        """The leads whose answer `column` (email, phone) is `value`, ignoring case."""
        query = leads.select().where(sa.func.lower(leads.c[column]) == value.lower()).order_by(leads.c.created_at)
        self.ensure_schema()
        with self._engine.connect() as connection:
            return [_lead(row) for row in connection.execute(query).mappings()]

    def delete(self, lead_ids: Iterable[str]) -> int:
        """Delete these leads; how many there were."""
        ids = list(lead_ids)
        if not ids:
            return 0
        with self._engine.begin() as connection:
            return int(connection.execute(leads.delete().where(leads.c.id.in_(ids))).rowcount)

    def record_erasure(
        self, identifier_hash: str, at: datetime, leads_deleted: int, conversations_deleted: int
    ) -> None:
        self.ensure_schema()
        with self._engine.begin() as connection:
            connection.execute(
                erasures.insert().values(
                    identifier_hash=identifier_hash,
                    erased_at=at,
                    leads_deleted=leads_deleted,
                    conversations_deleted=conversations_deleted,
                )
            )

    def dispose(self) -> None:
        self._engine.dispose()


def _due(now: datetime, after: Lead | None) -> sa.sql.ColumnElement:
    """Pending and due at `now`; with `after`, only what comes after that lead in queue order
    (created_at, then id)."""
    due = sa.and_(leads.c.delivery_status == PENDING, leads.c.next_attempt_at <= now.astimezone(timezone.utc))
    if after is None:
        return due
    created = after.created_at.astimezone(timezone.utc)
    later = sa.or_(leads.c.created_at > created, sa.and_(leads.c.created_at == created, leads.c.id > after.id))
    return sa.and_(due, later)


@contextlib.contextmanager
def _reachable() -> Iterator[None]:
    """A database error as StoreUnavailable, named by its type only (its message can quote values)."""
    try:
        yield
    except sa.exc.SQLAlchemyError as error:
        raise StoreUnavailable(f"lead store unavailable ({type(error).__name__})") from None


def _storable(values: Mapping[str, Any]) -> None:
    """StoreUnavailable naming the columns (never the values) whose text is not valid Unicode:
    the driver would fail on it mid-write with an error no caller expects, and a question kept
    as JSON escapes would fail the export and the CRM later."""
    broken = sorted(name for name, value in values.items() if any(not is_text(text) for text in _texts(value)))
    if broken:
        raise StoreUnavailable(f"lead could not be saved (not valid Unicode text in {', '.join(broken)})")


def _texts(value: Any) -> Iterator[str]:
    """Every string in a stored value: itself, a list's items, a transcript message's values."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)


def _zero_freed_space(connection: Any, _record: Any) -> None:
    connection.execute("PRAGMA secure_delete=ON")


def as_utc(stored: datetime | None) -> datetime | None:
    """A time as read back, aware: SQLite returns naive datetimes, and every time stored here is
    UTC; an aware one (PostgreSQL's, in its session's zone) is already the right instant."""
    if stored is None or stored.tzinfo is not None:
        return stored
    return stored.replace(tzinfo=timezone.utc)


def _lead(row: Mapping[str, Any]) -> Lead:
    data = dict(row)
    data["questions"] = json.loads(data["questions"])
    data["transcript"] = json.loads(data["transcript"])
    for key in _TIMES:
        data[key] = as_utc(data[key])
    answers = {column.name: data.pop(column.name) for column in fields.columns()}
    for key in _CLAIM_COLUMNS:  # the store's bookkeeping of who sends it now, not the lead's
        data.pop(key)
    return Lead(answers=answers, **data)
