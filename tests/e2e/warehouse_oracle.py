"""What staging and every mart must hold, written again in Python from the
README's "Analytics" table and `marts.yml`, never from the SQL.

`Loaded` is what the warehouse can know of one organization: every call as the
tap last emitted it (a call changed outside the look-back keeps its old
version; its `chat_history` only if that run asked for transcripts), and the
agents, contacts and numbers of the last complete run. `expected(loaded)`
gives each model's rows as sorted tuples of text, in the columns `COLUMNS`
reads back from the warehouse.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

Row = tuple[str | None, ...]

#: Per model, the columns compared and how each is read: `s` text, `t`
#: timestamp, `d` day, `n` number, `b` boolean.
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "staging.stg_contactship__calls": [
        ("call_id", "s"), ("created_at", "t"), ("agent_id", "s"), ("campaign_id", "s"),
        ("call_status", "s"), ("duration_seconds", "n"), ("contact_id", "s"),
    ],
    "analytics.fct_calls": [
        ("call_id", "s"), ("created_at", "t"), ("call_day", "d"), ("agent_id", "s"),
        ("agent_name", "s"), ("campaign_id", "s"), ("call_status", "s"),
        ("is_completed", "b"), ("duration_seconds", "n"), ("contact_id", "s"),
        ("from_number", "s"),
    ],
    "analytics.dim_agents": [
        ("agent_id", "s"), ("agent_name", "s"), ("calls", "n"),
        ("first_call_at", "t"), ("last_call_at", "t"),
    ],
    "analytics.agent_daily_performance": [
        ("agent_id", "s"), ("agent_name", "s"), ("call_day", "d"), ("calls", "n"),
        ("completed_calls", "n"), ("completion_rate", "n"),
        ("total_duration_seconds", "n"), ("avg_duration_seconds", "n"),
    ],
    "analytics.campaign_performance": [
        ("campaign_id", "s"), ("call_day", "d"), ("calls", "n"), ("completed_calls", "n"),
        ("completion_rate", "n"), ("total_duration_seconds", "n"),
        ("avg_duration_seconds", "n"), ("contacts_called", "n"), ("agents", "n"),
    ],
    "analytics.call_outcomes": [
        ("agent_id", "s"), ("call_day", "d"), ("call_status", "s"), ("call_result", "s"),
        ("disconnection_reason", "s"), ("analysis_sentiment", "s"), ("calls", "n"),
        ("total_duration_seconds", "n"),
    ],
    "analytics.call_transcript_turns": [
        ("call_id", "s"), ("turn_index", "n"), ("role", "s"), ("content", "s"),
        ("content_chars", "n"), ("agent_id", "s"), ("call_day", "d"),
    ],
    "analytics.contact_outreach": [
        ("contact_id", "s"), ("full_name", "s"), ("attempts", "n"), ("completed_calls", "n"),
        ("first_call_at", "t"), ("last_call_at", "t"), ("last_call_status", "s"),
        ("last_call_result", "s"), ("never_called", "b"),
    ],
    "analytics.phone_number_usage": [
        ("phone_number", "s"), ("number_type", "s"), ("outbound_calls", "n"),
        ("completed_outbound_calls", "n"), ("last_used_at", "t"),
    ],
}  # fmt: skip

#: The marts dbt builds incrementally (a schema no longer listed must leave them).
INCREMENTAL = [
    "analytics.fct_calls",
    "analytics.agent_daily_performance",
    "analytics.campaign_performance",
    "analytics.call_outcomes",
    "analytics.call_transcript_turns",
]


def instant(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(timezone.utc)


def _moment(text: str) -> str:
    """The API's ISO 8601 (any offset) or a warehouse's UTC text, as UTC."""
    if "T" in text or text.endswith("Z") or "+" in text[10:]:
        return instant(text).strftime("%Y-%m-%d %H:%M:%S")
    return text[:19]


def _flag(text: str) -> str:
    assert text.lower() in ("true", "false", "t", "f"), text
    return "true" if text.lower() in ("true", "t") else "false"


READERS: dict[str, Callable[[str], str]] = {
    "s": str,
    "t": _moment,
    "d": lambda text: text[:10],
    "n": lambda text: f"{float(text):.6f}",
    "b": _flag,
}


def read(value: Any, kind: str) -> str | None:
    """One cell, from the warehouse or the oracle, as comparable text."""
    if value is None or (value == "" and kind != "s"):
        return None
    return READERS[kind](str(value))


@dataclass
class Loaded:
    """One organization as its warehouse can know it."""

    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    agents: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    numbers: list[dict[str, Any]] = field(default_factory=list)

    def read_whole(self, agents: Any, contacts: Any, numbers: Any) -> None:
        self.agents = copy.deepcopy(agents)
        self.contacts = copy.deepcopy(contacts)
        self.numbers = copy.deepcopy(numbers)

    @classmethod
    def everything(cls, api: Any, transcripts: bool = True) -> Loaded:
        """What a complete run read from the fake `api` when no call changed
        outside the look-back since an earlier run: the API as it is now."""
        loaded = cls()
        for call in api.calls:
            emitted = api.with_transcript(call) if transcripts else call
            loaded.calls[call["id"]] = copy.deepcopy(emitted)
        loaded.read_whole(api.agents, api.contacts, api.phone_numbers)
        return loaded


def _measures(calls: list[dict[str, Any]]) -> tuple[Any, ...]:
    done = sum(c["call_status"] == "completed" for c in calls)
    total = sum(c["duration"] for c in calls)
    return len(calls), done, done / len(calls), total, total / len(calls)


def _rows(rows: list[tuple[Any, ...]], model: str) -> list[Row]:
    kinds = [kind for _, kind in COLUMNS[model]]
    return sorted(
        (
            tuple(read(value, kind) for value, kind in zip(row, kinds, strict=True))
            for row in rows
        ),
        key=lambda row: [(value is not None, value or "") for value in row],
    )


def expected(loaded: Loaded) -> dict[str, list[Row]]:
    """Every model's rows for one organization."""
    calls = list(loaded.calls.values())
    names = {agent["id"]: agent["name"] for agent in loaded.agents}

    def day(call: dict[str, Any]) -> str:
        return instant(call["created_at"]).strftime("%Y-%m-%d")

    def contact(call: dict[str, Any]) -> str | None:
        return (call.get("contact") or {}).get("id")

    out: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for c in calls:
        out["staging.stg_contactship__calls"].append(
            (c["id"], c["created_at"], c["agent_id"], c["campaign_id"],
             c["call_status"], c["duration"], contact(c))
        )  # fmt: skip
        out["analytics.fct_calls"].append(
            (c["id"], c["created_at"], day(c), c["agent_id"], names.get(c["agent_id"]),
             c["campaign_id"], c["call_status"], c["call_status"] == "completed",
             c["duration"], contact(c), c["from"])
        )  # fmt: skip
        for index, turn in enumerate(c.get("chat_history") or []):
            out["analytics.call_transcript_turns"].append(
                (c["id"], index, turn["role"], turn["content"], len(turn["content"]),
                 c["agent_id"], day(c))
            )  # fmt: skip

    def grouped(key: Any, keep: Any = lambda c: True) -> dict[Any, list[Any]]:
        groups: dict[Any, list[Any]] = defaultdict(list)
        for c in calls:
            if keep(c):
                groups[key(c)].append(c)
        return groups

    by_agent = grouped(lambda c: c["agent_id"])
    for agent in loaded.agents:
        mine = [c["created_at"] for c in by_agent.get(agent["id"], [])]
        first = min(mine, key=instant) if mine else None
        last = max(mine, key=instant) if mine else None
        out["analytics.dim_agents"].append(
            (agent["id"], agent["name"], len(mine), first, last)
        )
    for (agent, when), group in grouped(
        lambda c: (c["agent_id"], day(c)), lambda c: c["agent_id"] is not None
    ).items():
        out["analytics.agent_daily_performance"].append(
            (agent, names.get(agent), when, *_measures(group))
        )
    for (campaign, when), group in grouped(
        lambda c: (c["campaign_id"], day(c)), lambda c: c["campaign_id"] is not None
    ).items():
        contacts = {contact(c) for c in group} - {None}
        agents = {c["agent_id"] for c in group} - {None}
        out["analytics.campaign_performance"].append(
            (campaign, when, *_measures(group), len(contacts), len(agents))
        )
    for key, group in grouped(
        lambda c: (c["agent_id"], day(c), c["call_status"], c["call_result"],
                   c["disconnection_reason"], c["call_analysis"]["sentiment"])
    ).items():  # fmt: skip
        out["analytics.call_outcomes"].append(
            (*key, len(group), sum(c["duration"] for c in group))
        )
    by_contact = grouped(contact, lambda c: contact(c) is not None)
    for person in loaded.contacts:
        tried = sorted(
            by_contact.get(person["id"], []),
            key=lambda c: (instant(c["created_at"]), c["id"]),
        )
        last = tried[-1] if tried else {}
        out["analytics.contact_outreach"].append(
            (person["id"], person["full_name"], len(tried),
             sum(c["call_status"] == "completed" for c in tried),
             tried[0]["created_at"] if tried else None, last.get("created_at"),
             last.get("call_status"), last.get("call_result"), not tried)
        )  # fmt: skip
    placed = grouped(lambda c: c["from"], lambda c: c["direction"] == "outbound")
    for number in loaded.numbers:
        mine = placed.get(number["phone_number"], [])
        out["analytics.phone_number_usage"].append(
            (number["phone_number"], number["type"], len(mine),
             sum(c["call_status"] == "completed" for c in mine),
             max((c["created_at"] for c in mine), key=instant, default=None))
        )  # fmt: skip
    return {model: _rows(out[model], model) for model in COLUMNS}


#: Runs several statements, returning each one's rows (one round trip where
#: a warehouse's client is slow to start).
QueryAll = Callable[[list[str]], list[list[Any]]]

#: Tables dbt would leave behind (DuckDB, PostgreSQL and Snowflake spell it so).
LEFTOVERS = (
    "select table_schema, table_name from information_schema.tables"
    " where lower(table_name) like '%dbt_backup' or lower(table_name) like '%dbt_tmp'"
)


def one_at_a_time(query: Callable[[str], Any]) -> QueryAll:
    return lambda statements: [query(statement) for statement in statements]


def _selects(schema: str, text: str) -> list[str]:
    """Each model's columns as text (`text`: the warehouse's name for it)."""
    selects = []
    for model, columns in COLUMNS.items():
        names = ", ".join(f"cast({name} as {text})" for name, _ in columns)
        selects.append(
            f"select {names} from {model} where source_relation = '{schema}'"
        )
    return selects


def check_warehouse(
    query_all: QueryAll,
    loaded: dict[str, Loaded],
    listed: list[str],
    *,
    staging: bool = True,
    leftovers: str = LEFTOVERS,
    text: str = "varchar",
) -> None:
    """Staging (unless `staging` is false) and every mart equal the oracle for
    each listed schema; no incremental mart holds a schema no longer listed;
    no `__dbt_backup` or `__dbt_tmp` relation is left (`leftovers` lists
    them)."""
    quoted = ", ".join(f"'{schema}'" for schema in listed)
    statements = [select for schema in listed for select in _selects(schema, text)]
    statements += [
        f"select distinct source_relation from {model}"
        f" where source_relation not in ({quoted})"
        for model in INCREMENTAL
    ]
    results = query_all([*statements, leftovers])
    for index, schema in enumerate(listed):
        want = expected(loaded[schema])
        chunk = results[index * len(COLUMNS) : (index + 1) * len(COLUMNS)]
        for model, rows in zip(COLUMNS, chunk, strict=True):
            if staging or not model.startswith("staging."):
                got = _rows([tuple(row) for row in rows], model)
                assert got == want[model], (schema, model)
    strays = results[len(listed) * len(COLUMNS) : -1]
    for model, stray in zip(INCREMENTAL, strays, strict=True):
        assert stray == [], (model, stray)
    assert results[-1] == [], "relations left behind"
