"""Import CAP 1.2 alerts (one <alert>, or a feed of them) into alerts, infos and areas.

A file is parsed and checked before anything is written: a malformed file
writes nothing. A polled feed (bot/knowledge/feeds.py) is all-or-nothing per
alert instead: a malformed <alert> is reported and the others import. DTDs and
entities are refused (defusedxml), so no external entity is ever resolved.
Update and Cancel messages supersede the alerts they reference; re-importing
an alert already stored changes nothing. An alert that needs a coordinator's
review (bot/knowledge/review.py) is stored pending and not pushed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from bot.knowledge.files import read_bytes
from bot.proactive.alert_pushes import queue_alert_pushes
from flows import location
from flows.places import key, regions_of_area
from models import Alert, AlertArea, AlertInfo, utcnow
from models.alerts import CANCELLED, CURRENT, NO_REVIEW, PENDING, SUPERSEDED

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
STATUSES = {"Actual", "Exercise", "System", "Test", "Draft"}
MSG_TYPES = {"Alert", "Update", "Cancel", "Ack", "Error"}
URGENCIES = {"Immediate", "Expected", "Future", "Past", "Unknown"}
SEVERITIES = {"Extreme", "Severe", "Moderate", "Minor", "Unknown"}
CERTAINTIES = {"Observed", "Likely", "Possible", "Unlikely", "Unknown", "Very Likely"}
DEFAULT_VALIDITY = timedelta(hours=24)  # an info without <expires> is shown for a day at most
HAZARD_WORDS = [
    ("helada", r"helad|temperatura (nocturna|minima)|descenso de temperatura|frost"),
    ("friaje", r"friaje"),
    ("lluvia", r"lluvi|precipitac|rain"),
    ("granizo", r"graniz|hail"),
    ("nevada", r"nevad|nieve|snow"),
    ("sequia", r"sequia|deficit hidrico|drought"),
    ("viento", r"viento|wind"),
]
LEVEL_WORDS = {"rojo": "rojo", "red": "rojo", "naranja": "naranja", "orange": "naranja",
               "amarillo": "amarillo", "yellow": "amarillo"}
LEVEL_NUMBERS = {"2": "amarillo", "3": "naranja", "4": "rojo"}
SEVERITY_LEVELS = {"Extreme": "rojo", "Severe": "naranja", "Moderate": "amarillo", "Minor": "amarillo"}


class AlertFileError(Exception):
    """The file cannot be imported; nothing was written."""


@dataclass
class AlertImport:
    """What an import did."""

    imported: int = 0
    unchanged: int = 0
    superseded: int = 0
    cancelled: int = 0
    pushes: int = 0  # outbox rows queued for subscribers (bot/proactive/alert_pushes.py)
    pending: int = 0  # stored for review, not pushed (bot/knowledge/review.py)

    def summary(self) -> str:
        return (f"imported {self.imported}, unchanged {self.unchanged}, superseded "
                f"{self.superseded}, cancelled {self.cancelled}, pushes queued {self.pushes}, "
                f"pending review {self.pending}")

    def add(self, other: "AlertImport") -> None:
        """Add the counts of `other` to these."""
        for name in ("imported", "unchanged", "superseded", "cancelled", "pushes", "pending"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _q(name: str) -> str:
    return f"{{{CAP_NS}}}{name}"


def _text(el: Element, name: str, required: str | None = None) -> str | None:
    child = el.find(_q(name))
    value = (child.text or "").strip() if child is not None else ""
    if not value and required:
        raise AlertFileError(f"{required}: <{name}> is missing")
    return value or None


def _time(el: Element, name: str, where: str, required: bool = False) -> datetime | None:
    value = _text(el, name, where if required else None)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise AlertFileError(f"{where}: <{name}> {value!r} is not a CAP date-time") from None
    if parsed.tzinfo is None:
        raise AlertFileError(f"{where}: <{name}> {value!r} has no time zone offset")
    return parsed


def _choice(value: str | None, allowed: set[str], name: str, where: str) -> str:
    if value not in allowed:
        raise AlertFileError(f"{where}: <{name}> {value!r} is not one of {', '.join(sorted(allowed))}")
    return value


def read_alerts(path: Path) -> list[dict]:
    """Parse and check every alert in the file; raise AlertFileError on the first problem."""
    return parse_alerts(read_bytes(path, AlertFileError), str(path))


def parse_xml(raw: bytes, name: str) -> Element:
    """Return the root of `raw`, refusing DTDs and entities; raise AlertFileError if malformed."""
    try:
        return SafeET.fromstring(raw, forbid_dtd=True)
    except ParseError as exc:
        raise AlertFileError(f"{name}: malformed XML ({exc}); nothing imported") from None
    except DefusedXmlException as exc:
        raise AlertFileError(f"{name}: DTDs and entities are not allowed ({exc!r}); "
                             "nothing imported") from None


def alert_elements(root: Element, name: str) -> list[Element]:
    """Return every CAP 1.2 <alert> in `root`; raise AlertFileError when there is none."""
    elements = [root] if root.tag == _q("alert") else list(root.iter(_q("alert")))
    if not elements:
        other = [el.tag for el in root.iter() if el.tag.endswith("}alert") or el.tag == "alert"]
        hint = f" (found {other[0]!r}: only CAP 1.2 is read)" if other else ""
        raise AlertFileError(f"{name}: no <alert> in namespace {CAP_NS}{hint}; nothing imported")
    return elements


def parse_alerts(raw: bytes, name: str) -> list[dict]:
    """Parse and check every alert in `raw`; raise AlertFileError on the first problem."""
    elements = alert_elements(parse_xml(raw, name), name)
    return [_alert(el, n) for n, el in enumerate(elements, 1)]


def parse_each(elements: list[Element], name: str) -> tuple[list[dict], list[str]]:
    """Parse each <alert> on its own: return the good ones and one error line per bad one."""
    good, errors = [], []
    for n, el in enumerate(elements, 1):
        try:
            good.append(_alert(el, n))
        except AlertFileError as exc:
            errors.append(f"{name}: {exc}; that alert skipped")
    return good, errors


def _alert(el: Element, number: int) -> dict:
    where = f"alert {number}"
    identifier = _text(el, "identifier", where)
    where = f"alert {number} ({identifier})"
    alert = {
        "identifier": identifier[:200], "sender": _text(el, "sender", where)[:200],
        "sent": _time(el, "sent", where, required=True),
        "status": _choice(_text(el, "status", where), STATUSES, "status", where),
        "msg_type": _choice(_text(el, "msgType", where), MSG_TYPES, "msgType", where),
        "scope": (_text(el, "scope") or "Public")[:10],
        "refs": [ref.split(",") for ref in (_text(el, "references") or "").split()],
    }
    if any(len(ref) != 3 for ref in alert["refs"]):
        raise AlertFileError(f"{where}: <references> must be 'sender,identifier,sent' triplets")
    if alert["msg_type"] in {"Update", "Cancel"} and not alert["refs"]:
        raise AlertFileError(f"{where}: an {alert['msg_type']} must name the alert it replaces "
                             "in <references>")
    alert["infos"] = [_info(info, where, alert["sent"]) for info in el.findall(_q("info"))]
    if not alert["infos"] and alert["msg_type"] in {"Alert", "Update"}:
        raise AlertFileError(f"{where}: no <info> block")
    return alert


def _info(el: Element, where: str, sent: datetime) -> dict:
    params = {}
    for p in el.findall(_q("parameter")):
        name, value = _text(p, "valueName"), _text(p, "value")
        if name:
            params[name] = value or ""
    event = _text(el, "event", where)
    info = {
        "language": (_text(el, "language") or "en-US")[:10], "event": event[:200],
        "urgency": _choice(_text(el, "urgency", where), URGENCIES, "urgency", where),
        "severity": _choice(_text(el, "severity", where), SEVERITIES, "severity", where),
        "certainty": _choice(_text(el, "certainty", where), CERTAINTIES, "certainty", where),
        "sender_name": (_text(el, "senderName") or "")[:200] or None,
        "headline": (_text(el, "headline") or "")[:300] or None,
        "description": _text(el, "description"), "instruction": _text(el, "instruction"),
        "web": (_text(el, "web") or "")[:300] or None,
        "effective": _time(el, "effective", where), "onset": _time(el, "onset", where),
        "expires": _time(el, "expires", where), "parameters": params,
    }
    start = info["onset"] or info["effective"] or sent
    info["ends_at"] = info["expires"] or start + DEFAULT_VALIDITY
    info["level"] = level_of(params, info["severity"])
    info["hazards"] = hazards_of(" ".join(filter(None, [event, info["headline"], *params.values()])))
    info["areas"] = []
    for area in el.findall(_q("area")):
        codes = [(_text(g, "valueName") or "", _text(g, "value") or "") for g in area.findall(_q("geocode"))]
        desc = _text(area, "areaDesc", where)
        info["areas"].append({"area_desc": desc, "geocodes": [list(c) for c in codes],
                              "polygons": [(p.text or "").strip() for p in area.findall(_q("polygon"))],
                              "circles": [(c.text or "").strip() for c in area.findall(_q("circle"))],
                              "regions": regions_of_area(desc, codes)})
    return info


def level_of(params: dict, severity: str) -> str | None:
    """Return amarillo/naranja/rojo from a level-like parameter, else from the severity."""
    for name, value in params.items():
        if re.search(r"nivel|level|color|colour", key(name)):
            words = key(value).split()
            for word in words:
                if word in LEVEL_WORDS:
                    return LEVEL_WORDS[word]
            for word in words:
                if word in LEVEL_NUMBERS:
                    return LEVEL_NUMBERS[word]
    return SEVERITY_LEVELS.get(severity)


def hazards_of(text: str) -> list[str]:
    """Return our hazard values named in an event or headline ("Heladas" -> ["helada"])."""
    norm = key(text)
    return [hazard for hazard, pattern in HAZARD_WORDS if re.search(pattern, norm)]


def import_alerts(session: Session, path: Path, now: datetime | None = None) -> AlertImport:
    """Import the alerts in `path` and queue their pushes in `session` (the caller commits)."""
    return import_parsed(session, read_alerts(path), path.name, now)


def needs_review(data: dict, manual: bool) -> bool:
    """Return whether an alert waits for a coordinator: a manual feed's, or an Alert for no place.

    A place is a region (by geocode or name) or a CAP polygon or circle near the program's
    departments, which reaches the contacts who shared a location inside it
    (bot/proactive/alert_pushes.py).

    A Cancel never waits: it only tells those already sent the alert it ends (an alert
    someone approved, or an auto feed pushed) that it no longer holds.
    """
    if data["msg_type"] == "Cancel":
        return False
    if manual:
        return True
    regions = {r for info in data["infos"] for area in info["areas"] for r in area["regions"]}
    shapes = any(location.near_program(area.get("polygons"), area.get("circles"))
                 for info in data["infos"] for area in info["areas"])
    return data["msg_type"] == "Alert" and not regions and not shapes


def import_parsed(session: Session, parsed: list[dict], source: str, now: datetime | None = None,
                  manual: bool = False, feed_id: int | None = None) -> AlertImport:
    """Store parsed alerts (oldest first), supersede what they name, queue or hold their pushes."""
    now = now or utcnow()
    result = AlertImport()
    for data in sorted(parsed, key=lambda a: a["sent"]):
        stored = session.scalar(select(Alert).where(Alert.sender == data["sender"],
                                                    Alert.identifier == data["identifier"]))
        if stored is not None:
            result.unchanged += 1
            continue
        alert = _build(data, source)
        alert.feed_id = feed_id
        alert.review = PENDING if needs_review(data, manual) else NO_REVIEW
        session.add(alert)
        session.flush()
        _supersede(session, alert, result)
        _superseded_already(session, alert)
        result.imported += 1
        if alert.review == PENDING:
            result.pending += 1
        else:
            result.pushes += queue_alert_pushes(session, alert, now)
    return result


def _build(data: dict, source_file: str) -> Alert:
    infos = []
    for info in data["infos"]:
        areas = [AlertArea(**area) for area in info["areas"]]
        infos.append(AlertInfo(**{k: v for k, v in info.items() if k != "areas"}, areas=areas))
    fields = {k: v for k, v in data.items() if k != "infos"}
    return Alert(**fields, infos=infos, state=CURRENT, source_file=source_file[:200],
                 imported_at=utcnow())


def _supersede(session: Session, alert: Alert, result: AlertImport) -> None:
    if alert.msg_type not in {"Update", "Cancel"}:
        return
    for sender, identifier, _sent in alert.refs:
        old = session.scalar(select(Alert).where(Alert.sender == sender, Alert.identifier == identifier))
        if old is None or old.id == alert.id or old.state != CURRENT:
            continue
        old.state = CANCELLED if alert.msg_type == "Cancel" else SUPERSEDED
        old.superseded_by_id = alert.id
        result.cancelled += alert.msg_type == "Cancel"
        result.superseded += alert.msg_type == "Update"


def _superseded_already(session: Session, alert: Alert) -> None:
    """Mark `alert` superseded when an Update or Cancel naming it was imported before it."""
    later = session.scalars(select(Alert).where(
        Alert.msg_type.in_(["Update", "Cancel"]), Alert.id != alert.id,
        cast(Alert.refs, Text).contains(alert.identifier, autoescape=True))).all()
    for other in later:
        if any(s == alert.sender and i == alert.identifier for s, i, _ in other.refs):
            alert.state = CANCELLED if other.msg_type == "Cancel" else SUPERSEDED
            alert.superseded_by_id = other.id
            return
