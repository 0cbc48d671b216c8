"""charts: the report's matplotlib charts as base64 PNG data (for <img src="data:image/png;base64,...">).

Drawn from the document's ``charts`` data only. Labels that come from logs (zone names) are
passed with ``$`` escaped so mathtext never interprets them; the PNG itself carries no text that
a browser could run.
"""
from __future__ import annotations

import base64
import datetime as dt
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
STATUS_COLORS = {"critical": "#d62728", "warning": "#ff7f0e", "notice": "#17becf"}
MAX_CLASSES = 8


def _label(s) -> str:
    return str(s if s is not None else "").replace("$", r"\$")[:60]


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def warm_up() -> None:
    """Draw and encode a 1x1 figure: loads the Agg backend and the font cache."""
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.set_title("x")
    _png(fig)


def _empty(ax, msg: str) -> None:
    ax.text(0.5, 0.5, msg, ha="center", va="center", transform=ax.transAxes, color="#555")
    ax.set_xticks([])
    ax.set_yticks([])


def rejects_over_time(c: dict) -> str:
    fig, ax = plt.subplots(figsize=(8, 3.6))
    if not c["buckets"]:
        _empty(ax, "no refused mail in the period")
        return _png(fig)
    xs = [dt.datetime.fromisoformat(b) for b in c["buckets"]]
    classes = list(c["series"])
    series = {k: c["series"][k] for k in classes[:MAX_CLASSES]}
    if len(classes) > MAX_CLASSES:
        rest = [sum(v) for v in zip(*(c["series"][k] for k in classes[MAX_CLASSES:]))]
        series["(other classes)"] = rest
    # stacked steps, one filled area per class (a bar per bucket and class draws ~10x slower)
    edges = xs + [xs[-1] + dt.timedelta(seconds=c["bucket_s"])]
    bottom = [0] * len(xs)
    for i, (k, v) in enumerate(series.items()):
        top = [a + b for a, b in zip(bottom, v)]
        ax.fill_between(edges, bottom + bottom[-1:], top + top[-1:], step="post", linewidth=0,
                        label=_label(k), color=COLORS[i % len(COLORS)])
        bottom = top
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
    ax.set_ylabel(f"refused per {_bucket_name(c['bucket_s'])}")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8, ncol=2, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def _bucket_name(s: int) -> str:
    if s % 86400 == 0:
        return f"{s // 86400} day" if s > 86400 else "day"
    if s % 3600 == 0:
        return f"{s // 3600} h" if s > 3600 else "hour"
    return f"{s // 60} min"


def rbl_zones(c: dict) -> str:
    zones = c["zones"][:15]
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * max(len(zones), 2)))
    if not zones:
        _empty(ax, "no DNS blocklist activity in the period")
        return _png(fig)
    names = [_label(f"{z['zone']} ({z['status']})" if z.get("status") else z["zone"]) for z in zones][::-1]
    rej = [z["rejects"] for z in zones][::-1]
    fail = [z["lookup_failures"] for z in zones][::-1]
    colors = [STATUS_COLORS.get(z.get("severity"), COLORS[0]) for z in zones][::-1]
    y = range(len(zones))
    ax.barh([i + 0.2 for i in y], rej, height=0.4, color=colors)
    ax.barh([i - 0.2 for i in y], fail, height=0.4, color="#bbbbbb", hatch="//")
    ax.set_yticks(list(y))
    ax.set_yticklabels(names, fontsize=8)
    ax.set_xlabel("lines")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles = [Patch(color=COLORS[0], label="rejects (zone ok)"), Patch(color=STATUS_COLORS["critical"], label="rejects (critical)"),
               Patch(color=STATUS_COLORS["warning"], label="rejects (warning)"),
               Patch(facecolor="#bbbbbb", hatch="//", label="lookup errors/timeouts")]
    ax.legend(handles=handles, fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def connection_rate(c: dict) -> str:
    fig, ax = plt.subplots(figsize=(8, 3.6))
    h = c["histogram"]
    if not h:
        _empty(ax, "no outside smtpd connections in the period")
        return _png(fig)
    xs = [r["peak_rate"] for r in h]
    good = [r["clients_with_mail"] for r in h]
    other = [r["clients_without_mail"] for r in h]
    ax.bar(xs, good, width=0.8, color=COLORS[2], label="clients with accepted mail")
    ax.bar(xs, other, width=0.8, bottom=good, color=COLORS[7], label="other clients")
    if c.get("configured_limit"):
        ax.axvline(c["configured_limit"] + 0.5, color="#555", linestyle="--", label=f"configured limit {c['configured_limit']}")
    if c.get("recommended_limit"):
        ax.axvline(c["recommended_limit"] + 0.5, color=COLORS[3], linewidth=2, label=f"recommended limit {c['recommended_limit']}")
    if max(a + b for a, b in zip(good, other)) > 50:
        ax.set_yscale("log")
    else:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"peak connections per {c['unit_s']} s (anvil_rate_time_unit), per client")
    ax.set_ylabel("clients")
    ax.legend(fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


DRAW = {"rejects_over_time": rejects_over_time, "rbl_zones": rbl_zones, "connection_rate": connection_rate}


def draw_all(doc: dict) -> dict[str, str]:
    """chart id -> base64 PNG; a chart that fails to draw is left out (the table fallback shows)."""
    out = {}
    for cid, fn in DRAW.items():
        try:
            out[cid] = fn(doc["charts"][cid])
        except Exception:  # noqa: BLE001 - a chart must never break the report
            plt.close("all")
    return out
