"""Conocimiento: the knowledge base's topics, drafts (four-eyes), history and restore."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from bot.clock import today
from bot.console import bp
from bot.console.access import page
from bot.services import services
from bot.topics import store, unanswered
from flows.kb_schema import is_weak, part_segments, sms_as_sent, sms_segments
from flows import markets
from flows.gsm7 import segment_count
from flows.places import REGION_NAMES, REGIONS
from models import TopicVersion, utcnow

SOURCE_ROWS = 4

def editor() -> store.Editor:
    """Return the signed-in user as the one who edits or publishes."""
    return store.Editor(current_user.id, current_user.email, current_user.role)

def _segments(content: dict) -> dict:
    sms, short = content.get("sms", ""), content.get("short_source", "")
    return {"sms": sms_segments(sms, short) if sms else 0, "sent": sms_as_sent(sms, short) if sms else "",
            "parts": [part_segments(p, short) for p in content.get("whatsapp") or []]}

@bp.get("/conocimiento")
@page("knowledge")
def knowledge_list():
    """List published topics (search by words), the drafts waiting, and retired topics."""
    q = (request.args.get("q") or "").strip().lower()
    with services().db.session() as session:
        store.ensure_seeded(session, utcnow())
        versions = store.published_versions(session)
        waiting = store.drafts(session)
        titles = dict(store.categories(session))
    pending = {d.topic_id for d in waiting}

    def hit(v: TopicVersion) -> bool:
        c = v.content
        text = " ".join([v.topic_id, c.get("title", ""), " ".join(c.get("keywords", [])), c.get("sms", "")])
        return all(word in text.lower() for word in q.split())

    rows = [(v, _segments(v.content)["sms"], all(is_weak(s) for s in v.content.get("sources", [])))
            for v in versions if not q or hit(v)]
    return render_template("console/knowledge.html", rows=rows, drafts=waiting, pending=pending, q=q,
                           titles=titles, me=current_user.email)

def _form_content(form) -> tuple[dict, str]:
    """Read the editor's form into a topic entry and its category."""
    sources = []
    for n in range(SOURCE_ROWS):
        fields = {k: (form.get(f"source_{n}_{k}") or "").strip()
                  for k in ("title", "publisher", "year", "url", "document")}
        if not any(fields.values()):
            continue
        source = {k: v for k, v in fields.items() if v}
        if source.get("year", "").isdigit():
            source["year"] = int(source["year"])
        if form.get(f"source_{n}_weak"):
            source["weak"] = True
        sources.append(source)
    parts = [p.strip() for p in (form.get("whatsapp") or "").replace("\r", "").split("\n\n") if p.strip()]
    content = {
        "id": (form.get("topic_id") or "").strip(), "title": (form.get("title") or "").strip(),
        "keywords": [k.strip() for k in (form.get("keywords") or "").splitlines() if k.strip()],
        "sms": (form.get("sms") or "").strip(), "whatsapp": parts,
        "regions": [r for r in form.getlist("regions") if r],
        "altitude": (form.get("altitude") or "").strip() or None, "sources": sources,
        "short_source": (form.get("short_source") or "").strip(),
        "checked": (form.get("checked") or "").strip(),
    }
    return content, (form.get("category") or "").strip()

def _editor_page(content: dict, category: str, *, new: bool, problems=(), group_ids=(), status=200):
    with services().db.session() as session:
        store.ensure_seeded(session, utcnow())
        cats = store.categories(session)
    fields = {f for f, _ in problems}
    return render_template("console/knowledge_edit.html", c=content, category=category, new=new,
                           problems=problems, fields=fields, cats=cats, regions=REGIONS,
                           region_names=REGION_NAMES, seg=_segments(content), rows=SOURCE_ROWS,
                           group_ids=list(group_ids),
                           count=segment_count), status

@bp.get("/conocimiento/nuevo")
@page("knowledge")
def knowledge_new():
    """Show an empty editor (or one prefilled from a group of unanswered questions)."""
    ids = [int(i) for i in request.args.getlist("grupo") if i.isdigit()]
    content = {"checked": today().isoformat()}  # Lima's day, from the one clock
    if ids:
        with services().db.session() as session:
            group = unanswered.Group(unanswered.members(session, ids))
            if group.questions:
                content["keywords"] = group.phrasings
                answer = (request.args.get("respuesta") or "").strip()
                content["whatsapp"] = [answer] if answer else []
    return _editor_page(content, request.args.get("categoria", ""), new=True, group_ids=ids)[0]

@bp.get("/conocimiento/tema/<topic_id>")
@page("knowledge")
def knowledge_edit(topic_id: str):
    """Show the editor on the topic's newest draft, else its published version."""
    with services().db.session() as session:
        version = store.latest(session, topic_id, "draft") or store.latest(session, topic_id, "published")
        if version is None:
            abort(404)
        return _editor_page(dict(version.content), version.category, new=False)[0]

@bp.post("/conocimiento/guardar")
@page("knowledge")
def knowledge_save():
    """Save the editor's content as a draft (nothing is answered until another person publishes)."""
    content, category = _form_content(request.form)
    new = request.form.get("new") == "1"
    group_ids = [int(i) for i in request.form.getlist("grupo") if i.isdigit()]
    try:
        with services().db.session() as session:
            store.ensure_seeded(session, utcnow())
            version = store.save_draft(session, content, category, editor(), utcnow(), new=new,
                                       note="desde preguntas sin respuesta" if group_ids else None)
            if group_ids:
                unanswered.resolve(unanswered.members(session, group_ids), "topic", current_user.email,
                                   utcnow(), new_topic_id=version.topic_id)
    except store.TopicRefused as exc:
        flash(str(exc), "error")
        return _editor_page(content, category, new=new, problems=exc.problems, group_ids=group_ids,
                            status=422)
    flash(f"Borrador {version.topic_id} v{version.number} guardado: otra persona con el rol debe "
          "publicarlo antes de que el bot lo use.")
    return redirect(url_for("console.knowledge_list"))

@bp.post("/conocimiento/<topic_id>/retirar")
@page("knowledge")
def knowledge_retire(topic_id: str):
    """Propose retiring a topic (a draft: another person publishes the retirement)."""
    try:
        with services().db.session() as session:
            current = store.latest(session, topic_id, "published")
            if current is None:
                abort(404)
            store.save_draft(session, dict(current.content), current.category, editor(), utcnow(),
                             retired=True, note="retirar")
    except store.TopicRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("console.knowledge_list"))
    flash(f"Retiro de {topic_id} propuesto: otra persona debe publicarlo.")
    return redirect(url_for("console.knowledge_list"))

@bp.post("/conocimiento/borradores/<int:version_id>/<action>")
@page("knowledge")
def knowledge_draft_action(version_id: int, action: str):
    """Publish (a second person only) or discard a draft."""
    if action not in {"publicar", "descartar"}:
        abort(404)
    act = store.publish if action == "publicar" else store.discard
    try:
        with services().db.session() as session:
            version = act(session, version_id, editor(), utcnow())
            label = f"{version.topic_id} v{version.number}"
    except store.TopicRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("console.knowledge_list"))
    flash(f"{label} publicado: el bot lo usa desde el próximo mensaje." if action == "publicar"
          else f"Borrador {label} descartado.")
    return redirect(url_for("console.knowledge_list"))

@bp.get("/conocimiento/<topic_id>/historial")
@page("knowledge")
def knowledge_history(topic_id: str):
    """Show every version of a topic, newest first, with who wrote and published it."""
    with services().db.session() as session:
        versions = store.history(session, topic_id)
    if not versions:
        abort(404)
    return render_template("console/knowledge_history.html", topic_id=topic_id, versions=versions)

@bp.post("/conocimiento/<topic_id>/restaurar/<int:number>")
@page("knowledge")
def knowledge_restore(topic_id: str, number: int):
    """Make an old version a new draft (published by a second person like any edit)."""
    try:
        with services().db.session() as session:
            version = store.restore(session, topic_id, number, editor(), utcnow())
            label = f"v{version.number}"
    except store.TopicRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("console.knowledge_history", topic_id=topic_id))
    flash(f"Versión {number} copiada como borrador {label}: otra persona debe publicarlo.")
    return redirect(url_for("console.knowledge_history", topic_id=topic_id))

@bp.get("/conocimiento/mercados")
@page("knowledge")
def knowledge_markets():
    """Show the market directory the bot answers "donde puedo vender" from, by department."""
    entries = sorted(markets.markets(), key=lambda m: (m.department, m.province or "", m.name))
    return render_template("console/knowledge_markets.html", entries=entries, region_names=REGION_NAMES,
                           file=markets.MARKETS_FILE.name)
