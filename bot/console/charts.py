"""Chart geometry for the console's plain SVG/CSS charts: numbers only, the templates draw."""
from __future__ import annotations


def day_bars(series: list[dict], width: int = 640, height: int = 180) -> dict:
    """Return the geometry of a stacked bar chart (SMS below, WhatsApp above) as plain numbers."""
    top = max([s["sms"] + s["whatsapp"] for s in series] + [1])
    step = width / max(len(series), 1)
    bars = []
    for i, s in enumerate(series):
        h_sms = height * s["sms"] / top
        h_wa = height * s["whatsapp"] / top
        bars.append({"x": round(i * step + 1, 1), "w": round(max(step - 2, 1), 1),
                     "y_sms": round(height - h_sms, 1), "h_sms": round(h_sms, 1),
                     "y_wa": round(height - h_sms - h_wa, 1), "h_wa": round(h_wa, 1),
                     "label": s["day"].strftime("%d/%m"), "sms": s["sms"],
                     "whatsapp": s["whatsapp"]})
    return {"bars": bars, "top": top, "width": width, "height": height,
            "label_every": max(1, len(series) // 8)}


def hbars(pairs: list[tuple[str, int]], width: int = 300) -> list[dict]:
    """Return the rows of a horizontal bar chart: label, value and bar width."""
    top = max([n for _, n in pairs] + [1])
    return [{"label": label, "n": n, "w": round(width * n / top, 1)} for label, n in pairs]
