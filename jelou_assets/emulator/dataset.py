"""Deterministic synthetic "attended conversations" for the Jelou emulator.

Every local day of the account's timezone holds `per_day` conversations drawn from
`random.Random(f"{seed}:{day}")` only, so any day can be regenerated at any time, in
any order, in any process, and come out identical. Days are generated lazily and
cached; each record's served JSON is cached too, so the server only joins strings.

What a record looks like depends on the emulator's clock (`now`): a conversation
that has not started yet does not exist, one whose end is after `now` is served as
"active" (empty `endAt`, zero duration), and one whose operator has not replied yet
has `timeRepliedOperator` 0. Moving `now` forward therefore closes conversations
deterministically, which is how late arrivals are emulated.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import random
import threading
import time as _time
import zlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from jelou_assets.day_windows import day_window

__all__ = ["SyntheticDataset", "Window", "TEAMS", "SHARED_OPERATOR", "TIMESTAMP_FORMS", "TEAM_FIELDS", "OFFICE_HOURS"]

DAY_SECONDS = 86_400
# Days are regenerable, so the cache only bounds memory; days holding arrivals are kept.
MAX_CACHED_DAYS = 1_000


@dataclass(frozen=True)
class Team:
    name: str
    # Median first-reply time; Cobranzas and Reclamos are deliberately slow so that a
    # 300 s target is breached on most days.
    reply_median_s: float
    operators: tuple[str, ...]
    bots: tuple[str, ...]
    weight: float
    # Its operators answer only while the office is open (OFFICE_HOURS); the bot keeps nights and weekends.
    office_hours: bool = False


@dataclass(frozen=True)
class OfficeHours:
    """When an office-hours team's operators work: the same hours as the calendar its policy names in
    dbt_project/seeds (Oficina Quito), so the business clock reads their drawn reply times back."""

    zone: ZoneInfo
    weekdays: frozenset[int]  # ISO, 1 = Monday
    opens: time
    closes: time


OFFICE_HOURS = OfficeHours(ZoneInfo("America/Guayaquil"), frozenset(range(1, 6)), time(8), time(18))


SHARED_OPERATOR = "María José Cedeño"  # works in Ventas and Postventa

TEAMS: tuple[Team, ...] = (
    Team("Ventas", 85, ("Andrea Salazar Mora", "Carlos Andrade Vélez",
                        "Daniela Paredes Ruiz", SHARED_OPERATOR),
         ("Sofía", "Asistente Ventas"), 0.30),
    Team("Soporte", 140, ("Luis Fernando Castro", "Gabriela Montalvo Ríos",
                          "Jorge Intriago Zambrano", "Paola Villacís", "Diego Almeida Pazmiño"),
         ("Sofía", "Soporte Bot"), 0.28, office_hours=True),
    Team("Cobranzas", 290, ("Verónica Chiriboga", "Ricardo Benítez Loor", "Silvia Cárdenas Mejía"),
         ("Cobranzas Bot",), 0.15),
    Team("Postventa", 110, (SHARED_OPERATOR, "Fernando Ortega Vera",
                            "Lucía Espinoza Toral", "Andrés Guerrero Cuesta"),
         ("Sofía", "Asistente Ventas"), 0.15),
    Team("Reclamos", 210, ("Patricia Yépez", "Esteban Moreno Jácome", "Karina Zambrano León"),
         ("Soporte Bot",), 0.12),
)
_TEAM_WEIGHTS = [t.weight for t in TEAMS]

# Fixed per-operator pace so operator-level SLA tables differ within a team.
_OPERATOR_PACE: dict[str, float] = {
    "Andrea Salazar Mora": 0.8, "Carlos Andrade Vélez": 1.2, "Daniela Paredes Ruiz": 1.0,
    SHARED_OPERATOR: 0.9, "Luis Fernando Castro": 0.85, "Gabriela Montalvo Ríos": 1.0,
    "Jorge Intriago Zambrano": 1.35, "Paola Villacís": 0.9, "Diego Almeida Pazmiño": 1.1,
    "Verónica Chiriboga": 1.0, "Ricardo Benítez Loor": 1.25, "Silvia Cárdenas Mejía": 0.8,
    "Fernando Ortega Vera": 1.1, "Lucía Espinoza Toral": 0.95, "Andrés Guerrero Cuesta": 1.05,
    "Patricia Yépez": 1.0, "Esteban Moreno Jácome": 0.9, "Karina Zambrano León": 1.2,
}

_ORIGINS = ("whatsapp", "web", "ticket", "facebook", "instagram")
_ORIGIN_WEIGHTS = (0.55, 0.20, 0.15, 0.06, 0.04)
# Both shapes of company.id occur in the wild; clients must not assume one.
_COMPANY_IDS: tuple[int | str, ...] = (1042, "1042", "cmp-77")
_COMPANY_WEIGHTS = (0.6, 0.3, 0.1)
# Traffic follows office hours in the account's zone (index = local hour).
_HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 4, 8, 14, 18, 19, 18, 15, 15, 17, 17, 15, 12, 9, 7, 5, 4, 2, 1)

# Never replied: support desks see 5-15 %. Some of those users left before anyone could answer (the SLA's
# `excluded` when that was within the team's target); the rest waited until the conversation ended
# (`breached`), or are still waiting when fetched (`pending` while younger than the target).
NO_REPLY_SHARE = 0.10
NO_REPLY_LEFT_EARLY_SHARE = 0.4
NO_REPLY_LEFT_EARLY_MS = (10_000, 240_000)
LONG_RUNNING_SHARE = 0.10
# Type drift (`type_drift=True`): the record's id picks its drift, so the subset is the same in
# every process. Kinds 0-3 each hit about a tenth of the records; the rest are served as usual.
DRIFT_REPLY_NULL, DRIFT_REPLY_NUMERIC_STRING, DRIFT_REPLY_JUNK, DRIFT_UNKNOWN_STATE = range(4)
DRIFT_KINDS = 10
DRIFT_JUNK_REPLY = "n/a"
DRIFT_STATE = "transferred"

# Readings the documentation allows (it types startAt/endAt only as "string" and shows one example):
# "naive" is the example's `YYYY-MM-DD HH:MM:SS` in the response zone; "iso-utc" is what Node's
# Date#toJSON writes (Jelou's other endpoints); "iso-offset" is ISO 8601 with the account zone's offset.
TIMESTAMP_FORMS = ("naive", "iso-utc", "iso-offset")
# Where the team is: "assignation" as documented; "operator" leaves assignationMethod.teamName empty or
# missing (alternately, by id) and names the team under operator.team, as Jelou's own web client reads it.
TEAM_FIELDS = ("assignation", "operator")


@dataclass(slots=True)
class _Conversation:
    id: str
    start: int  # epoch seconds (whole seconds, like the API's strings)
    end: int  # epoch seconds at which it closes: start + duration_ms // 1000
    reply_ms: int
    duration_ms: int
    state: str  # final state once closed
    ended_reason: str
    operator: str
    user_id: str
    bot: str
    company_id: int | str
    team: str
    origin: str
    start_text: str
    end_text: str
    drift: int = -1  # a DRIFT_* kind, or -1 for the documented types
    team_field: str = "assignation"
    upper_case_state: bool = False
    # variant ("closed" | "active" | "waiting") -> served JSON text
    _json: dict[str, str] = field(default_factory=dict)

    def variant(self, now: float) -> str:
        if self.end <= now:
            return "closed"
        if self.reply_ms and self.start + self.reply_ms / 1000 > now:
            return "waiting"  # active and the operator has not replied yet
        return "active"

    def served_json(self, now: float) -> str:
        key = self.variant(now)
        text = self._json.get(key)
        if text is None:
            text = json.dumps(self._record(key), ensure_ascii=False, separators=(",", ":"))
            self._json[key] = text
        return text

    def _record(self, variant: str) -> dict:
        closed = variant == "closed"
        reply: int | str | None = 0 if variant == "waiting" else self.reply_ms
        state = self.state if closed else "active"
        if self.drift == DRIFT_REPLY_NULL:
            reply = None
        elif self.drift == DRIFT_REPLY_NUMERIC_STRING:
            reply = str(reply)
        elif self.drift == DRIFT_REPLY_JUNK:
            reply = DRIFT_JUNK_REPLY
        elif self.drift == DRIFT_UNKNOWN_STATE and closed:
            state = DRIFT_STATE
        if self.upper_case_state:
            state = state.upper()
        operator: dict = {"names": self.operator}
        assignation: dict | None = {"teamName": self.team}
        if self.team_field == "operator":
            operator["team"] = self.team
            assignation = {"teamName": ""} if zlib.crc32(self.id.encode()) % 2 else None
        # Key order follows the API documentation's example.
        record = {
            "_id": self.id,
            "operator": operator,
            "user": {"id": self.user_id},
            "bot": {"name": self.bot},
            "company": {"id": self.company_id},
            "assignationMethod": assignation,
            "state": state,
            "endedReason": self.ended_reason if closed else "",
            "startAt": self.start_text,
            "endAt": self.end_text if closed else "",
            "origin": self.origin,
            "timeRepliedOperator": reply,
            "conversationDuration": self.duration_ms if closed else 0,
        }
        if assignation is None:
            del record["assignationMethod"]
        return record


@dataclass(slots=True)
class _Day:
    starts: list[int]  # parallel to records, for bisect
    records: list[_Conversation]  # sorted by (start, id)
    pinned: bool = False  # holds arrivals: cannot be regenerated, never evicted


class Window:
    """The conversations matching one request, as sorted slices of cached days."""

    def __init__(self, segments: list[tuple[list[_Conversation], int, int]], now: float) -> None:
        self._segments = segments
        self.now = now
        self.total = sum(hi - lo for _, lo, hi in segments)

    def conversations(self, offset: int = 0, limit: int | None = None) -> list[_Conversation]:
        out: list[_Conversation] = []
        want = self.total if limit is None else limit
        for records, lo, hi in self._segments:
            if want <= 0:
                break
            size = hi - lo
            if offset >= size:
                offset -= size
                continue
            take = records[lo + offset: min(hi, lo + offset + want)]
            out.extend(take)
            want -= len(take)
            offset = 0
        return out

    def page_json(self, offset: int, limit: int) -> list[str]:
        return [c.served_json(self.now) for c in self.conversations(offset, limit)]

    def records(self) -> list[dict]:
        # Parsed from the exact served text: equal to what the server sends, and
        # callers can mutate them without touching the cache.
        return [json.loads(c.served_json(self.now)) for c in self.conversations()]


class SyntheticDataset:
    """Deterministic conversations per local day of `timezone`."""

    def __init__(
        self,
        seed: int = 7,
        per_day: int = 300,
        timezone: str = "America/Guayaquil",
        response_timezone: str = "UTC",
        now: datetime | None = None,
        edge_conversations: bool = True,
        type_drift: bool = False,
        first_day: date | None = None,
        timestamp_form: str = "naive",
        team_field: str = "assignation",
        upper_case_states: bool = False,
        office_holidays: Iterable[date] = (),
    ) -> None:
        if per_day < 0:
            raise ValueError("per_day must be >= 0")
        if timestamp_form not in TIMESTAMP_FORMS:
            raise ValueError(f"timestamp_form must be one of {TIMESTAMP_FORMS}")
        if team_field not in TEAM_FIELDS:
            raise ValueError(f"team_field must be one of {TEAM_FIELDS}")
        self.seed = seed
        self.per_day = per_day
        self.timezone = timezone
        self.response_timezone = response_timezone
        self.edge_conversations = edge_conversations
        self.type_drift = type_drift
        self.first_day = first_day  # the account's first day with conversations; None = always had them
        self.timestamp_form = timestamp_form
        self.team_field = team_field
        self.upper_case_states = upper_case_states
        self.office_holidays = frozenset(office_holidays)  # days OFFICE_HOURS teams do not work
        self._tz = ZoneInfo(timezone)
        self._response_tz = ZoneInfo(response_timezone)
        self.now = now
        # Mongo ObjectIds are timestamp + machine/process bytes + counter; the "machine"
        # part is per seed and its top bit is set so arrivals (machine 0) sort first.
        digest = hashlib.sha256(f"machine:{seed}".encode()).hexdigest()
        self._machine = int(digest[:10], 16) | (1 << 39)
        self._days: OrderedDict[date, _Day] = OrderedDict()
        self._arrivals = 0
        self._lock = threading.RLock()

    # ---- clock -------------------------------------------------------------------

    @property
    def now(self) -> datetime | None:
        return self._now

    @now.setter
    def now(self, value: datetime | None) -> None:
        if value is not None and value.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self._now = value

    def now_epoch(self) -> float:
        return self._now.timestamp() if self._now is not None else _time.time()

    # ---- public queries ----------------------------------------------------------

    def conversations_between(self, start: datetime, end: datetime) -> list[dict]:
        """Records as served whose start instant is in [start, end], in server order."""
        return self.window(_aware(start).timestamp(), _aware(end).timestamp()).records()

    def day(self, local_date: date) -> list[dict]:
        """Records as served for one local day of the account's timezone."""
        first, last = self._day_bounds(local_date)
        return self.window(first, last).records()

    def add_conversation(self, start: datetime) -> dict:
        """Adds a new conversation starting at `start` (floored to the second).

        It sorts before every other conversation starting in the same second, so an
        arrival at a window's start shifts every page of that window by one.
        """
        epoch = math.floor(_aware(start).timestamp())
        with self._lock:
            local_day = datetime.fromtimestamp(epoch, self._tz).date()
            day = self._get_day(local_day)
            n = self._arrivals
            self._arrivals += 1
            rng = random.Random(f"{self.seed}:arrival:{n}:{epoch}")
            # Decreasing counter: each arrival sorts before the previous ones too.
            conv = self._draw(rng, epoch, f"{epoch:08x}{0:010x}{(0xFFFFFF - n) % (1 << 24):06x}")
            records = list(day.records)  # copy-on-write: readers keep a consistent list
            starts = list(day.starts)
            i = bisect.bisect_left(records, (conv.start, conv.id), key=lambda c: (c.start, c.id))
            records.insert(i, conv)
            starts.insert(i, conv.start)
            self._days[local_day] = _Day(starts, records, pinned=True)
        return json.loads(conv.served_json(self.now_epoch()))

    def window(self, start: float, end: float, now: float | None = None) -> Window:
        """Conversations with start instant in [start, end] (epoch seconds) that exist at `now`."""
        now = self.now_epoch() if now is None else now
        end = min(end, now)  # conversations that have not started do not exist yet
        segments: list[tuple[list[_Conversation], int, int]] = []
        if end < start:
            return Window(segments, now)
        first = datetime.fromtimestamp(start, self._tz).date()
        last = datetime.fromtimestamp(end, self._tz).date()
        d = first
        while d <= last:
            day = self._get_day(d)
            lo = bisect.bisect_left(day.starts, start)
            hi = bisect.bisect_right(day.starts, end)
            if hi > lo:
                segments.append((day.records, lo, hi))
            d += timedelta(days=1)
        return Window(segments, now)

    # ---- generation ---------------------------------------------------------------

    def _day_bounds(self, d: date) -> tuple[float, float]:
        first, last = day_window(d, self.timezone)
        return first.timestamp(), last.timestamp()

    def _get_day(self, d: date) -> _Day:
        with self._lock:
            day = self._days.get(d)
            if day is None:
                day = self._generate_day(d)
                self._days[d] = day
                self._evict()
            else:
                self._days.move_to_end(d)
            return day

    def _evict(self) -> None:
        if len(self._days) <= MAX_CACHED_DAYS:
            return
        for key in [k for k, v in self._days.items() if not v.pinned]:
            if len(self._days) <= MAX_CACHED_DAYS:
                break
            del self._days[key]

    def _generate_day(self, d: date) -> _Day:
        if self.first_day is not None and d < self.first_day:
            return _Day([], [])
        rng = random.Random(f"{self.seed}:{d.isoformat()}")
        # Seconds since the day's first instant, in absolute time: a DST day has 23 or 25 hours (or 23.5),
        # and its repeated hour holds conversations like any other. Each hour is weighted by its local hour.
        first, last = self._day_bounds(d)
        midnight, length = int(first), int(last - first) + 1
        if length <= 0:
            return _Day([], [])  # a local day that never happened (see day_windows)
        hours = range(math.ceil(length / 3600))
        weights = [_HOUR_WEIGHTS[datetime.fromtimestamp(midnight + h * 3600, self._tz).hour] for h in hours]
        seconds = [
            min(rng.choices(hours, weights)[0] * 3600 + rng.randrange(3600), length - 1)
            for _ in range(self.per_day)
        ]
        if self.edge_conversations and seconds:
            seconds[0] = 0  # the first instant of the partition (00:00:00 local, unless skipped by DST)
            if len(seconds) > 1:
                seconds[-1] = length - 1  # its last instant
        counter_base = d.toordinal() * max(self.per_day, 1)
        records = []
        for i, sec in enumerate(seconds):
            start = midnight + sec
            oid = f"{start:08x}{self._machine:010x}{(counter_base + i) % (1 << 24):06x}"
            records.append(self._draw(rng, start, oid))
        records.sort(key=lambda c: (c.start, c.id))
        return _Day([c.start for c in records], records)

    def _draw(self, rng: random.Random, start: int, oid: str) -> _Conversation:
        team = rng.choices(TEAMS, _TEAM_WEIGHTS)[0]
        operator = rng.choice(team.operators)
        bot = rng.choice(team.bots)
        origin = rng.choices(_ORIGINS, _ORIGIN_WEIGHTS)[0]
        company_id = rng.choices(_COMPANY_IDS, _COMPANY_WEIGHTS)[0]
        user_id = f"5939{rng.randrange(10**8):08d}"  # Ecuadorian mobile, as WhatsApp ids are

        median_ms = team.reply_median_s * _OPERATOR_PACE.get(operator, 1.0) * 1000
        reply_ms = int(rng.lognormvariate(math.log(median_ms), 1.0))
        no_reply = rng.random() < NO_REPLY_SHARE
        reply_ms = 0 if no_reply else max(reply_ms, 1_500)
        if reply_ms and team.office_hours:
            reply_ms = self._office_reply_ms(start, reply_ms)

        kind = rng.random()
        if kind < LONG_RUNNING_SHARE:
            # Long-running: stays open for days, so past days still hold active ones.
            state = rng.choices(("closed", "resolved", "expired"), (0.55, 0.25, 0.20))[0]
            duration_ms = rng.randint(DAY_SECONDS * 1000, 21 * DAY_SECONDS * 1000)
        elif kind < 0.60:
            state = "closed"
            duration_ms = int(rng.lognormvariate(math.log(15 * 60_000), 0.8))
        elif kind < 0.85:
            state = "resolved"
            duration_ms = int(rng.lognormvariate(math.log(20 * 60_000), 0.8))
        else:
            state = "expired"
            duration_ms = min(int(rng.lognormvariate(math.log(6 * 3_600_000), 0.5)), DAY_SECONDS * 1000)
        if no_reply and rng.random() < NO_REPLY_LEFT_EARLY_SHARE:
            duration_ms = rng.randint(*NO_REPLY_LEFT_EARLY_MS)
        # The operator's reply happens inside the conversation.
        duration_ms = max(duration_ms, reply_ms + rng.randint(5_000, 120_000))
        if state == "closed":
            ended_reason = rng.choices(("closed_by_operator", "closed_by_user"), (0.8, 0.2))[0]
        else:
            ended_reason = state

        end = start + duration_ms // 1000  # the API's endAt matches start + duration to the second
        drift = zlib.crc32(oid.encode()) % DRIFT_KINDS if self.type_drift else -1
        return _Conversation(
            id=oid, start=start, end=end, reply_ms=reply_ms, duration_ms=duration_ms,
            state=state, ended_reason=ended_reason, operator=operator, user_id=user_id,
            bot=bot, company_id=company_id, team=team.name, origin=origin,
            start_text=self._render(start), end_text=self._render(end), drift=drift,
            team_field=self.team_field, upper_case_state=self.upper_case_states,
        )

    def _office_reply_ms(self, start: int, working_ms: int) -> int:
        """Milliseconds from `start` to the moment `working_ms` of office time have passed: a message that arrives
        at night, on a weekend or on an office holiday waits for the office to open."""
        hours, remaining = OFFICE_HOURS, working_ms
        start_ms = start * 1000
        day = datetime.fromtimestamp(start, hours.zone).date()
        while True:
            if day.isoweekday() in hours.weekdays and day not in self.office_holidays:
                opens = int(datetime.combine(day, hours.opens, hours.zone).timestamp()) * 1000
                closes = int(datetime.combine(day, hours.closes, hours.zone).timestamp()) * 1000
                begin = max(opens, start_ms)
                if begin + remaining <= closes:
                    return begin + remaining - start_ms
                remaining -= max(0, closes - begin)
            day += timedelta(days=1)

    def _render(self, epoch: int) -> str:
        if self.timestamp_form == "iso-utc":
            return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        if self.timestamp_form == "iso-offset":
            return datetime.fromtimestamp(epoch, self._tz).isoformat(timespec="milliseconds")
        return datetime.fromtimestamp(epoch, self._response_tz).strftime("%Y-%m-%d %H:%M:%S")


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return value.astimezone(UTC)
