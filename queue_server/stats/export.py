"""A report written out: a table for the terminal, CSV, XLSX (openpyxl), and a one-page
printable HTML report with inline SVG charts for the monthly meeting.

CSV and XLSX carry every figure under its field name (durations in seconds, shares 0..1),
so they read back exactly (`read_csv`, `read_xlsx`); the table and the HTML page are for
people and speak the hall's language.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from queue_server.stats.figures import FIGURE_NAMES, Figures, Report
from queue_server.stats.ratings import FIGURE_FIELDS as RATING_FIELDS
from queue_server.stats.ratings import RatingFigures

# The 好差评 figures of a report's rows (by row key) and its total: stats.ratings.for_report;
# None when the report's grouping has none (priority, hour).
Ratings = tuple[Mapping[tuple[str, ...], RatingFigures], RatingFigures] | None

FORMATS = ("table", "csv", "xlsx", "html")
TOTAL = "合计"

GROUPING_ZH = {
    "hall": "大厅",
    "category": "业务类别",
    "item": "事项",
    "window": "窗口",
    "staff": "工作人员",
    "priority": "类别",
    "hour": "时段",
    "weekday": "星期",
    "day": "日期",
    "week": "周",
    "month": "月份",
}
PRIORITY_ZH = {"normal": "普通", "appointment": "预约", "green": "绿色通道", "assisted": "帮办代办"}
WEEKDAY_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")

# The terminal table's columns: (field, heading, how shown).
TABLE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("issued", "取号", "n"),
    ("served", "办结", "n"),
    ("no_show", "过号", "n"),
    ("cancelled", "取消", "n"),
    ("transferred", "转办", "n"),
    ("expired", "过期", "n"),
    ("wait_mean", "平均等候", "min"),
    ("wait_median", "等候中位", "min"),
    ("wait_p90", "等候P90", "min"),
    ("wait_max", "最长等候", "min"),
    ("within_target", "达标率", "pct"),
    ("services", "服务次数", "n"),
    ("service_mean", "平均办理", "min"),
    ("service_p90", "办理P90", "min"),
    ("utilisation", "利用率", "pct"),
    ("paused", "暂停", "h"),
    ("appointments_booked", "预约", "n"),
    ("appointments_checked_in", "签到", "n"),
    ("appointments_missed", "爽约", "n"),
    ("visits", "一链办理", "n"),
    ("visit_mean", "一链用时", "min"),
)
# Then, where the grouping has them, the 好差评 figures (RatingFigures fields).
RATING_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("rating_rate", "评价率", "pct"),
    ("satisfaction", "好评率", "pct"),
    ("bad", "差评", "n"),
    ("on_time_rate", "回复率", "pct"),
    ("callback_rate", "回访率", "pct"),
    ("overdue", "超期工单", "n"),
)


def key_label(grouping: str, value: str) -> str:
    """A grouping value as people read it."""
    if value == "":
        return "—"
    if grouping == "priority":
        return PRIORITY_ZH.get(value, value)
    if grouping == "weekday":
        return WEEKDAY_ZH[int(value.split("-")[0]) - 1]
    if grouping == "window":
        return f"{value}号窗口"
    if grouping == "hour":
        return f"{value}:00"
    return value


def _shown(value: Any, how: str) -> str:
    if value is None:
        return "—"
    if how == "min":
        return f"{value / 60:.1f}"
    if how == "h":
        return f"{value / 3600:.1f}h"
    if how == "pct":
        return f"{value * 100:.1f}%"
    return str(value)


def _title(report: Report) -> str:
    halls = "、".join(report.halls)
    by = "、".join(GROUPING_ZH[g] for g in report.by)
    return f"{halls} 统计报表 {report.period.label}" + (f"（按{by}）" if by else "")


# -- table ------------------------------------------------------------------------------------


def table(report: Report, ratings: Ratings = None) -> str:
    """Fixed-width text; durations in minutes, shares in percent."""
    heads = [GROUPING_ZH[g] for g in report.by] + [h for _, h, _ in TABLE_COLUMNS]
    if ratings is not None:
        heads += [h for _, h, _ in RATING_COLUMNS]
    lines = [
        [
            *(key_label(g, v) for g, v in zip(report.by, row.key, strict=True)),
            *_cells(row.figures),
            *_rating_cells(ratings, row.key),
        ]
        for row in report.rows
    ]
    lines.append([*_total_key(report), *_cells(report.total), *_rating_cells(ratings, None)])
    widths = [max(_width(h), *(_width(line[i]) for line in lines)) for i, h in enumerate(heads)]
    out = [_title(report), "  ".join(_pad(h, w) for h, w in zip(heads, widths, strict=True))]
    out.extend("  ".join(_pad(c, w) for c, w in zip(line, widths, strict=True)) for line in lines)
    out.append("时长单位：分钟（暂停：小时）；达标率：等候不超过类别目标等候时间的比例")
    if ratings is not None:
        out.append(
            "好评率：非常满意、满意、基本满意占计入评价的比例；回复率：差评工单按期反馈的比例"
        )
    return "\n".join(out) + "\n"


def _total_key(report: Report) -> list[str]:
    return [TOTAL if i == 0 else "" for i in range(len(report.by))]


def _cells(f: Figures) -> list[str]:
    return [_shown(getattr(f, name), how) for name, _, how in TABLE_COLUMNS]


def _ratings_of(ratings: Ratings, key: tuple[str, ...] | None) -> RatingFigures | None:
    """A row's 好差评 figures (None: the total), zeros where it had no service."""
    if ratings is None:
        return None
    rows, total = ratings
    return total if key is None else rows.get(key, RatingFigures("|".join(key)))


def _rating_cells(ratings: Ratings, key: tuple[str, ...] | None) -> list[str]:
    f = _ratings_of(ratings, key)
    if f is None:
        return []
    return [_shown(getattr(f, name), how) for name, _, how in RATING_COLUMNS]


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


# -- CSV and XLSX ----------------------------------------------------------------------------


def records(report: Report, ratings: Ratings = None) -> tuple[list[str], list[list[Any]]]:
    """Header and rows with every figure: the groupings, then each field; pauses by reason
    as `paused:REASON` columns; then, where the grouping has them, the 好差评 figures as
    `ratings:FIELD` columns. The last row is the total (its keys `*`)."""
    reasons = sorted({r for f in _all(report) for r in f.paused_by_reason})
    header = [*report.by, *(n for n in FIGURE_NAMES if n != "paused_by_reason")]
    header += [f"paused:{r}" for r in reasons]
    if ratings is not None:
        header += [f"ratings:{n}" for n in RATING_FIELDS]
    rows = []
    for key, f, rated in [
        (row.key, row.figures, _ratings_of(ratings, row.key)) for row in report.rows
    ] + [(tuple("*" for _ in report.by), report.total, _ratings_of(ratings, None))]:
        values = [getattr(f, n) for n in FIGURE_NAMES if n != "paused_by_reason"]
        rows.append(
            [
                *key,
                *values,
                *(f.paused_by_reason.get(r, 0) for r in reasons),
                *([] if rated is None else [_exact(getattr(rated, n)) for n in RATING_FIELDS]),
            ]
        )
    return header, rows


def _exact(value: Any) -> Any:
    """Shares to four places, as the other shares of a report."""
    return round(value, 4) if isinstance(value, float) else value


def _all(report: Report) -> list[Figures]:
    return [row.figures for row in report.rows] + [report.total]


def to_csv(report: Report, ratings: Ratings = None) -> str:
    header, rows = records(report, ratings)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def write_xlsx(report: Report, path: Path, ratings: Ratings = None) -> None:
    from openpyxl import Workbook  # imported here: only this format needs it

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "统计"
    header, rows = records(report, ratings)
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    sheet.freeze_panes = "A2"
    info = book.create_sheet("说明")
    info.append(["报表", _title(report)])
    info.append(["时长", "秒"])
    info.append(["比例", "0–1"])
    info.append(["定义", "docs/statistics.md"])
    book.save(path)


def read_xlsx(path: Path) -> tuple[list[str], list[list[Any]]]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    sheet = book["统计"]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    book.close()
    return [str(h) for h in values[0]], values[1:]


# -- the monthly HTML page ---------------------------------------------------------------------


def html_page(
    report: Report,
    by_day: Report,
    by_hour: Report,
    by_window: Report,
    by_staff: Report,
    targets_minutes: dict[str, int],
    ratings: Ratings = None,
) -> str:
    """One printable A4 page: the headline figures, served per day, waits through the day
    against the target, utilisation per window, services per staff member, and the table
    of `report`'s rows. Charts are inline SVG; no scripts."""
    t = report.total
    target = min(targets_minutes.values()) if targets_minutes else None
    tiles = [
        ("取号", str(t.issued)),
        ("办结", str(t.served)),
        ("平均等候", _shown(t.wait_mean, "min") + " 分"),
        ("达标率", _shown(t.within_target, "pct")),
        ("窗口利用率", _shown(t.utilisation, "pct")),
        ("过号", str(t.no_show)),
        ("预约签到", f"{t.appointments_checked_in}/{t.appointments_booked}"),
        ("一链办理", str(t.visits)),
    ]
    if ratings is not None:
        rated = ratings[1]
        tiles += [
            ("好评率", _shown(rated.satisfaction, "pct")),
            ("评价率", _shown(rated.rating_rate, "pct")),
            ("差评", str(rated.bad)),
            ("回复率", _shown(rated.on_time_rate, "pct")),
        ]
    charts = [
        _bars(
            "每日办结",
            [(r.key[0][5:], r.figures.served) for r in by_day.rows],
            lambda v: str(int(v)),
        ),
        _bars(
            "各时段平均等候（分钟）",
            [(f"{r.key[0]}", (r.figures.wait_mean or 0) / 60) for r in by_hour.rows],
            lambda v: f"{v:.0f}",
            line=target,
        ),
        _bars(
            "窗口利用率",
            [(r.key[0] or "—", (r.figures.utilisation or 0) * 100) for r in by_window.rows],
            lambda v: f"{v:.0f}%",
        ),
        _bars(
            "工作人员服务次数",
            [(r.key[0] or "—", r.figures.services) for r in by_staff.rows if r.key[0]],
            lambda v: str(int(v)),
        ),
    ]
    heads = [GROUPING_ZH[g] for g in report.by] + [h for _, h, _ in TABLE_COLUMNS[:15]]
    body_rows = [
        [key_label(g, v) for g, v in zip(report.by, row.key, strict=True)]
        + _cells(row.figures)[:15]
        for row in report.rows
    ]
    body_rows.append(_total_key(report) + _cells(t)[:15])
    table_html = "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>".format(
        "".join(f"<th>{html.escape(h)}</th>" for h in heads),
        "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in body_rows
        ),
    )
    tiles_html = "".join(
        f'<div class="tile"><b>{html.escape(v)}</b><span>{html.escape(k)}</span></div>'
        for k, v in tiles
    )
    return _PAGE.format(
        title=html.escape(_title(report)),
        tiles=tiles_html,
        charts="".join(charts),
        table=table_html,
        note="时长单位：分钟；达标率：等候不超过类别目标等候时间的比例；定义见 docs/statistics.md",
    )


def _bars(
    title: str,
    data: Sequence[tuple[str, float]],
    label: Any,
    line: float | None = None,
) -> str:
    """A bar chart as inline SVG (300 × 150), with an optional target line."""
    width, height, left, bottom = 330, 160, 6, 22
    top = max([v for _, v in data] + [line or 0, 1e-9])
    n = max(1, len(data))
    slot = (width - 2 * left) / n
    parts = [
        f'<svg viewBox="0 0 {width} {height + 20}" width="{width}" height="{height + 20}"'
        f' role="img" aria-label="{html.escape(title)}">',
        f'<text x="{left}" y="14" class="t">{html.escape(title)}</text>',
    ]
    plot = height - bottom - 20
    for i, (name, value) in enumerate(data):
        h = plot * value / top
        x = left + i * slot + slot * 0.15
        y = 20 + plot - h
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}"/>')
        if n <= 31:
            parts.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{y - 2:.1f}" class="v">'
                f"{html.escape(label(value))}</text>"
            )
            parts.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{height - 2}" class="k">'
                f"{html.escape(name)}</text>"
            )
    if line is not None and line <= top:
        y = 20 + plot - plot * line / top
        parts.append(
            f'<line x1="{left}" x2="{width - left}" y1="{y:.1f}" y2="{y:.1f}" class="target"/>'
            f'<text x="{width - left}" y="{y - 3:.1f}" class="v" text-anchor="end">最短目标</text>'
        )
    if not data:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" class="v">无数据</text>')
    parts.append("</svg>")
    return "".join(parts)


_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>
<style>
@page {{ size: A4; margin: 12mm; }}
body {{ font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; font-size: 10pt;
  margin: 0; color: #222; }}
h1 {{ font-size: 14pt; margin: 0 0 6px; }}
.tiles {{ display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 8px; }}
.tile {{ border: 1px solid #bbb; padding: 4px 8px; min-width: 70px; }}
.tile b {{ display: block; font-size: 13pt; }}
.tile span {{ color: #555; font-size: 8pt; }}
.charts {{ display: grid; grid-template-columns: 1fr 1fr; gap: 4px; }}
svg rect {{ fill: #3a6ea5; }}
svg .t {{ font-size: 11px; font-weight: bold; }}
svg .v, svg .k {{ font-size: 7px; text-anchor: middle; fill: #333; }}
svg .target {{ stroke: #c0392b; stroke-dasharray: 4 2; }}
table {{ border-collapse: collapse; width: 100%; font-size: 7.5pt; margin-top: 6px; }}
th, td {{ border: 1px solid #ccc; padding: 1px 3px; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
tbody tr:last-child {{ font-weight: bold; }}
.note {{ color: #666; font-size: 7pt; }}
</style></head>
<body><h1>{title}</h1>
<div class="tiles">{tiles}</div>
<div class="charts">{charts}</div>
{table}
<p class="note">{note}</p>
</body></html>
"""
