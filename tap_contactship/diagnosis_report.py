"""The diagnosis as a report: per list, what was seen and what the tap does.

The table (stderr, or stdout with `--format=markdown`) and the JSON document
(`--format=json`) are built from the same facts (diagnosis.py), which hold no
value from the API and no setting but the ones named here: never the key.
"""

from __future__ import annotations

import json
import typing as t
from importlib import metadata

from tap_contactship import __version__, diagnosis
from tap_contactship.redaction import redact
from tap_contactship.settings import DEFAULT_API_URL
from tap_contactship.shapes import Hasher

if t.TYPE_CHECKING:
    from tap_contactship.client import ContactshipStream
    from tap_contactship.exchanges import Exchange
    from tap_contactship.tap import TapContactship

#: One line of the report: what was checked, what was seen, what the tap does.
Finding = tuple[str, str, str]


class Report:
    """Facts and findings of every list, ready to print."""

    def __init__(
        self,
        tap: TapContactship,
        exchanges: dict[str, list[Exchange]],
        *,
        requests_sent: int,
        budget: int,
        seconds: float,
        largest_limit: int,
        hasher: Hasher | None = None,
    ) -> None:
        """Judge what every list answered."""
        hasher = hasher or Hasher()
        self.api_url = str(tap.config["api_url"])
        self.header = {
            "tool": "tap-contactship --diagnose",
            "tap_version": __version__,
            "singer_sdk_version": metadata.version("singer-sdk"),
            "api_url": "default"
            if self.api_url.rstrip("/") == DEFAULT_API_URL
            else "custom",
            "page_size": int(tap.config["page_size"]),
            "requests": requests_sent,
            "request_budget": budget,
            "seconds": round(seconds, 2),
        }
        self.streams: dict[str, dict[str, t.Any]] = {}
        self.findings: dict[str, list[Finding]] = {}
        for name, seen in exchanges.items():
            stream = t.cast("ContactshipStream", tap.streams[name])
            facts = diagnosis.stream_facts(stream, seen, largest_limit, hasher)
            self.streams[name] = facts
            self.findings[name] = findings(stream, facts)
        if requests_sent >= budget:
            self.header["note"] = "the request budget was spent; later checks skipped"

    def document(self) -> dict[str, t.Any]:
        """The JSON document: facts and findings, per list."""
        return {
            **self.header,
            "streams": {
                name: {
                    **facts,
                    "findings": [
                        {"check": c, "seen": s, "tap": d}
                        for c, s, d in self.findings[name]
                    ],
                }
                for name, facts in self.streams.items()
            },
        }

    def json(self) -> str:
        """The JSON document, one line per key for a readable bug report."""
        return json.dumps(self.document(), indent=1, sort_keys=False)

    def table(self) -> str:
        """The human table (Markdown, so it pastes into an issue as is)."""
        head = self.header
        lines = [
            f"tap-contactship --diagnose: {head['requests']} requests "
            f"(budget {head['request_budget']}) to {redact(self.api_url)} in "
            f"{head['seconds']} s; tap {head['tap_version']}, "
            f"singer-sdk {head['singer_sdk_version']}",
            "",
            "| list | check | seen | what the tap does |",
            "|---|---|---|---|",
        ]
        for name, rows in self.findings.items():
            for check, seen, does in rows:
                lines.append(f"| {name} | {check} | {seen} | {does} |")
        if "note" in head:
            lines += ["", f"Note: {head['note']}."]
        lines += [
            "",
            "Attach the output of `tap-contactship --diagnose --format=json` to a "
            "bug report: it holds no key and no personal data.",
        ]
        return "\n".join(lines)


def findings(stream: ContactshipStream, facts: dict[str, t.Any]) -> list[Finding]:
    """The report's lines for one list."""
    out: list[Finding] = [
        (f"failure: {f}", "no answer to use", "a sync would retry, then fail")
        for f in facts["failures"]
    ]
    envelope = facts["envelope"]
    refuses = facts["tap_refuses"]
    out.append(
        (
            "envelope",
            envelope,
            "a sync fails on it (one line): attach this report"
            if refuses
            else "read as is",
        )
    )
    out.append(paging_finding(stream, facts))
    out.append(largest_finding(facts))
    out.append(count_finding(stream, facts))
    default = facts.get("default_page_size")
    out.append(
        (
            "default page",
            f"{default} rows" if default else "not seen (the list fits in it)",
            "always sends `limit`, so the default does not matter",
        )
    )
    out.append(order_finding(stream, facts))
    styles = sorted({s for v in facts["timestamps"].values() for s in v})
    out.append(
        (
            "timestamps",
            ", ".join(styles) or "none seen",
            "fails with one line on a value that is not ISO 8601"
            if "not ISO 8601" in styles
            else "reads each, emits UTC `.ffffffZ`",
        )
    )
    out.append(fields_finding(facts))
    if "date_from" in facts:
        verdict = facts["date_from"]
        out.append(
            (
                "date_from",
                verdict,
                "reads every call each run and cuts client-side (correct, slower)"
                if verdict.startswith(("ignored", "no call"))
                else "asks from the day before its window, cuts client-side: correct",
            )
        )
        verdict = facts["transcripts"]
        out.append(
            (
                "transcripts",
                verdict,
                "`include_transcripts` works"
                if verdict.startswith("json")
                else "leave `include_transcripts` off: records would not match "
                "their schema",
            )
        )
    out.append(responses_finding(facts))
    return out


def responses_finding(facts: dict[str, t.Any]) -> Finding:
    """Response times, statuses and rate-limit headers."""
    times, headers = facts["response_times"], facts["rate_limit_headers"]
    seen = (
        f"median {times['median_ms']} ms, slowest {times['max_ms']} ms"
        if times
        else "no response"
    )
    statuses = ", ".join(f"{n} x {status}" for status, n in facts["statuses"].items())
    seen += f"; statuses {statuses}"
    if headers:
        seen += f"; rate-limit headers: {', '.join(sorted(headers))}"
    return (
        "responses",
        seen,
        "honours `Retry-After` on 429; other rate-limit headers are not read",
    )


def paging_finding(stream: ContactshipStream, facts: dict[str, t.Any]) -> Finding:
    """`limit`/`offset` honoured, and what the tap does when they are not."""
    offset = facts.get("offset_honoured")
    if offset is None:
        return ("limit/offset", "not checked (fewer than 2 rows)", "pages as usual")
    if offset:
        seen = (
            "both honoured"
            if facts.get("limit_honoured")
            else "offset honoured, limit ignored"
        )
        return ("limit/offset", seen, "pages with limit/offset")
    served = facts["largest_page"]["served"]
    seen = f"not paged: every offset gets the same {served} rows"
    if not facts["count_present"] and not stream.follow_without_count:
        return ("limit/offset", seen, "reads the one page, as documented")
    if stream.offset_may_be_ignored:
        cap = getattr(stream, "DOCUMENTED_CAP", served + 1)
        if served < cap and served != int(stream.config["page_size"]) + 1:
            return ("limit/offset", seen, f"takes these {served} rows as the list")
        return (
            "limit/offset",
            seen,
            f"at most {served} {stream.name} are read (WARNING); deletions are not "
            f"applied to {stream.name}",
        )
    return ("limit/offset", seen, "a sync fails with one line (offset ignored)")


def largest_finding(facts: dict[str, t.Any]) -> Finding:
    """The largest page the server serves: a cap, the whole list, or neither."""
    largest = facts["largest_page"]
    cap, served = largest["cap"], largest["served"]
    seen = f"{served} rows for limit {largest['asked']}"
    if cap:
        seen += f": a cap of {cap}"
        does = f"learns the cap from the first short page and pages at {cap} rows"
    else:
        seen += " (the whole list)" if largest["whole_list"] else ""
        does = "pages of page_size + 1 rows"
    if facts.get("offset_honoured") is False:
        does = "not paged (see limit/offset)"
    return ("largest page", seen, does)


def count_finding(stream: ContactshipStream, facts: dict[str, t.Any]) -> Finding:
    """`count`: present, and whether it agrees with the rows."""
    verdict = facts["count"]
    if verdict == "absent":
        does = (
            "pages until a page holds nothing new"
            if stream.follow_without_count
            else "one page is the list"
        )
    elif verdict.startswith("too"):
        does = "reads past it or stops at the real end, with a WARNING; no row lost"
    else:
        does = "pages until the offset reaches it, then checks the end"
    return ("count", verdict, does)


def order_finding(stream: ContactshipStream, facts: dict[str, t.Any]) -> Finding:
    """Whether `order=asc` holds on the sample."""
    holds = facts["order_asc_holds"]
    default = facts.get("default_order") or "unknown"
    seen = (
        f"order=asc {'holds' if holds else 'not seen' if holds is None else 'broken'}"
    )
    seen += f"; default order {default}"
    if holds is False and stream.replication_key:
        return ("order", seen, "a sync stops with one line (a bookmark would skip)")
    return ("order", seen, "relies on it for exact paging (the overlap checks it)")


def fields_finding(facts: dict[str, t.Any]) -> Finding:
    """Fields the schema lacks and fields never seen."""
    extra, unseen = facts["undeclared_fields"], facts["never_seen_fields"]
    seen = f"undeclared: {', '.join(extra) or 'none'}; never seen: "
    seen += ", ".join(unseen) or "none"
    does = "drops undeclared ones (one WARNING)" if extra else "emits every field"
    return ("fields", seen, does + ("; unseen ones stay null" if unseen else ""))
