"""The backtest's HTML report, laid out as a quant's tearsheet: the numbers first (every
metric of every strategy and period, the design's bar, the ablation), then the equity curves
with the desk's exposure beneath, the drawdown periods, the monthly returns, the rolling
Sharpe and the agents' weights. Charts are plotly's."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from agents.backtest.metrics import TRADING_DAYS
from agents.backtest.report import Strategy

METRIC_COLUMNS = {
    "cagr": ("CAGR", "{:.2%}"),
    "volatility": ("Volatility", "{:.2%}"),
    "sharpe": ("Sharpe", "{:.2f}"),
    "sortino": ("Sortino", "{:.2f}"),
    "calmar": ("Calmar", "{:.2f}"),
    "max_drawdown": ("Max drawdown", "{:.2%}"),
    "max_drawdown_peak": ("DD peak", "{}"),
    "max_drawdown_trough": ("DD trough", "{}"),
    "hit_rate": ("Daily hit rate", "{:.1%}"),
    "annual_turnover": ("Turnover / yr", "{:.2f}"),
    "annual_cost_drag": ("Cost drag / yr", "{:.2%}"),
}
PERIODS = {"full": "whole period", "before_holdout": "selection", "holdout": "held out"}
STYLE = """<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3} td.l,th.l{text-align:left}
.met{color:#137333;font-weight:600}.missed{color:#b3261e;font-weight:600}
</style>"""


def _fmt(value, pattern: str) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    try:
        return pattern.format(value)
    except (TypeError, ValueError):
        return html.escape(str(value))


def metrics_table(content: dict) -> str:
    """Every metric for every strategy and period, one row each."""
    head = "".join(f"<th>{label}</th>" for label, _ in METRIC_COLUMNS.values())
    rows = []
    for name, measured in content["strategies"].items():
        for period, label in PERIODS.items():
            if period not in measured:
                continue
            m = measured[period]
            cells = "".join(
                f"<td>{_fmt(m.get(key), pattern)}</td>"
                for key, (_, pattern) in METRIC_COLUMNS.items()
            )
            rows.append(
                f"<tr><td class=l>{html.escape(name)}</td><td class=l>{label} "
                f"({m['start']}..{m['end']})</td>{cells}</tr>"
            )
    return (
        f"<table><tr><th class=l>Strategy</th><th class=l>Period</th>{head}</tr>"
        f"{''.join(rows)}</table>"
    )


def design_table(content: dict) -> str:
    """The desk against the design's bar, per period."""
    rows = []
    for period, v in content.get("design_success", {}).items():

        def verdict(ok: bool) -> str:
            return "<span class=met>met</span>" if ok else "<span class=missed>not met</span>"

        rows.append(
            f"<tr><td class=l>{PERIODS[period]} ({v['start']}..{v['end']})</td>"
            f"<td>{v['sharpe']:.2f} &gt; {v['sharpe_target']}: {verdict(v['sharpe_met'])}</td>"
            f"<td>{v['max_drawdown']:.2%} &lt; {v['max_drawdown_target']:.0%}: "
            f"{verdict(v['max_drawdown_met'])}</td>"
            f"<td>{'yes' if v['sharpe_above_every_benchmark'] else 'no'} "
            f"(best {_fmt(v['best_benchmark_sharpe'], '{:.2f}')})</td></tr>"
        )
    return (
        "<table><tr><th class=l>Period</th><th>Sharpe (design: above 1.5)</th>"
        "<th>Max drawdown (design: below 10%)</th><th>Sharpe above every benchmark</th></tr>"
        f"{''.join(rows)}</table>"
    )


def ablation_html(ablation: dict | None) -> str:
    if not ablation:
        return "<p>No ablation in this run.</p>"
    rows = []
    for name, row in ablation["variants"].items():
        for period, label in PERIODS.items():
            if period not in row:
                continue
            m = row[period]
            delta = m.get("desk_sharpe_minus_this")
            rows.append(
                f"<tr><td class=l>{html.escape(name)}</td>"
                f"<td class=l>{html.escape(row['switched_off'])}</td><td class=l>{label}</td>"
                f"<td>{m['sharpe']:.2f}</td><td>{m['max_drawdown']:.2%}</td>"
                f"<td>{m['cagr']:.2%}</td><td>{m['volatility']:.2%}</td>"
                f"<td>{_fmt(delta, '{:+.2f}')}</td></tr>"
            )
    return (
        "<table><tr><th class=l>Variant</th><th class=l>Switched off</th><th class=l>Period</th>"
        "<th>Sharpe</th><th>Max DD</th><th>CAGR</th><th>Volatility</th>"
        f"<th>Desk Sharpe minus this</th></tr>{''.join(rows)}</table>"
    )


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def execution_html(desk: dict) -> str:
    """The post-trade analysis (``agents.backtest.report.execution_analysis``) as tables."""
    by_schedule = desk.get("execution_by_schedule") or {}
    html_out = "<h3>By the schedule the execution agent chose</h3>" + _table(
        ["schedule", "orders", "fill rate", "shortfall, bp (value-weighted)",
         "shortfall p95, bp", "mean participation"],
        [[s, v["orders"], _fmt(v["fill_rate"], "{:.2%}"),
          _fmt(v["implementation_shortfall_bps"], "{:.2f}"),
          _fmt(v["implementation_shortfall_bps_p95"], "{:.2f}"),
          _fmt(v["mean_participation"], "{:.3%}")] for s, v in by_schedule.items()],
    )  # fmt: skip
    compared = desk.get("schedules_on_the_same_orders") or {}
    for key, title in (("classical_on_every_order", "Every classical schedule on every order"),
                       ("with_rl_on_orders_it_never_saw",
                        "With the RL scheduler, on orders after its last training session "
                        f"({compared.get('rl_trained_through')})")):  # fmt: skip
        table = compared.get(key)
        if not table or not table.get("orders"):
            html_out += f"<h3>{html.escape(title)}</h3><p>No order to compare (the RL "
            html_out += "scheduler is compared once make run has registered one).</p>"
            continue
        html_out += f"<h3>{html.escape(title)}: {table['orders']} orders, same bars and "
        html_out += "venues</h3>" + _table(
            ["schedule", "mean shortfall, bp", "p95, bp"],
            [[n, _fmt(m, "{:.2f}"), _fmt(table["p95_bp"][n], "{:.2f}")]
             for n, m in table["mean_bp"].items()],
        )  # fmt: skip
    venues = desk.get("execution_venues") or {}
    html_out += f"<h3>Venues ({html.escape(venues.get('simulated', ''))})</h3>" + _table(
        ["venue", "child orders", "share of children", "filled there"],
        [[v, f["children"], _fmt(f["share_of_children"], "{:.1%}"),
          _fmt(f["filled_there"], "{:.1%}")] for v, f in venues.get("venues", {}).items()],
    )  # fmt: skip
    return html_out


def drawdown_periods(returns: pd.Series, top: int = 5) -> pd.DataFrame:
    """The ``top`` deepest drawdowns: peak, trough, recovery (None: not recovered), depth."""
    wealth = (1.0 + returns).cumprod()
    underwater = wealth / wealth.cummax() - 1.0
    periods, start = [], None
    for day, depth in underwater.items():
        if depth < 0 and start is None:
            start = day
        elif depth == 0 and start is not None:
            window = underwater[start:day]
            periods.append((start, window.idxmin(), day, -window.min()))
            start = None
    if start is not None:
        window = underwater[start:]
        periods.append((start, window.idxmin(), None, -window.min()))
    frame = pd.DataFrame(periods, columns=["start", "trough", "recovery", "depth"])
    return frame.sort_values("depth", ascending=False).head(top).reset_index(drop=True)


def _period_rows(frame: pd.DataFrame) -> str:
    rows = "".join(
        f"<tr><td>{r.start.date()}</td><td>{r.trough.date()}</td>"
        f"<td>{'not recovered' if r.recovery is None or pd.isna(r.recovery) else r.recovery.date()}"
        f"</td><td>{r.depth:.2%}</td></tr>"
        for r in frame.itertuples()
    )
    return (
        "<table><tr><th>Start</th><th>Trough</th><th>Recovery</th><th>Depth</th></tr>"
        f"{rows}</table>"
    )


def write_tearsheet(
    path: Path,
    content: dict,
    strategies: list[Strategy],
    exposure: pd.DataFrame,
    weights: pd.DataFrame,
    title: str,
) -> Path:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    desk = next(s for s in strategies if s.name == "desk")
    wealth = {s.name: (1.0 + s.returns).cumprod() for s in strategies}
    equity = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3])
    for name, w in wealth.items():
        equity.add_trace(go.Scatter(x=w.index, y=w, name=name), row=1, col=1)
    for column in exposure.columns:
        equity.add_trace(
            go.Scatter(x=exposure.index, y=exposure[column], name=f"desk {column} exposure"),
            row=2,
            col=1,
        )
    equity.update_yaxes(type="log", title_text="growth of 1, net", row=1, col=1)
    equity.update_yaxes(tickformat=".0%", title_text="exposure / NAV", row=2, col=1)
    equity.update_layout(title="Equity curves, and the desk's gross, net and hedge exposure")
    drawdown = go.Figure(
        [go.Scatter(x=w.index, y=w / w.cummax() - 1.0, name=n) for n, w in wealth.items()]
    )
    drawdown.update_layout(title="Drawdown from the running peak", yaxis_tickformat=".0%")
    monthly = (1.0 + desk.returns).resample("ME").prod() - 1.0
    grid = monthly.groupby([monthly.index.year, monthly.index.month]).first().unstack()
    heat = go.Figure(
        go.Heatmap(
            z=grid.to_numpy() * 100, x=[f"{m:02d}" for m in grid.columns],
            y=[str(y) for y in grid.index], colorscale="RdYlGn", zmid=0,
            text=np.round(grid.to_numpy() * 100, 1), texttemplate="%{text}",
        )
    )  # fmt: skip
    heat.update_layout(title="Desk monthly returns, %", height=max(400, 22 * len(grid)))
    rolling = go.Figure()
    for s in strategies:
        r = s.returns.rolling(TRADING_DAYS)
        rolling.add_trace(
            go.Scatter(x=s.returns.index, y=r.mean() / r.std() * np.sqrt(TRADING_DAYS), name=s.name)
        )
    rolling.update_layout(title="Rolling one-year Sharpe (risk-free 0)")
    figures = [equity, drawdown, heat, rolling]
    if not weights.empty:
        agents = go.Figure([go.Scatter(x=weights.index, y=weights[c], name=c) for c in weights])
        agents.update_layout(title="Consensus weight of each agent (adapts to its record)")
        figures.append(agents)
    charts = [f.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, f in enumerate(figures)]
    holdout = content["period"]["holdout_start"]
    body = (
        f"<h1>{html.escape(title)}</h1>"
        f"<p>Net of costs; risk-free rate 0. Selection period: before {holdout}; the "
        "held-out years after it were never used to choose anything.</p>"
        "<h2>The design's success metrics</h2>" + design_table(content)
        + "<h2>Every metric, every strategy, every period</h2>" + metrics_table(content)
        + "<h2>Ablation: the desk with one piece switched off</h2>"
        + ablation_html(content.get("ablation"))
        + "<h2>Execution: implementation shortfall against the decision price</h2>"
        + execution_html(content["strategies"]["desk"])
        + charts[0]
        + "<h2>The desk's deepest drawdowns</h2>" + _period_rows(drawdown_periods(desk.returns))
        + "".join(charts[1:])
    )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>{STYLE}</head>"
        f"<body>{body}</body></html>"
    )
    return path
