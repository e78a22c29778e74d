"""The results as one table (a column per server, then localshop's ratio to each peer) and
the issue-5 targets checked against it."""
from __future__ import annotations

from dataclasses import dataclass

from .scenarios import (
    DIRECT_BESIDE, DOWNLOAD, MIRROR, PROJECT_PAGE, RSS_LIMIT, ROOT_PAGE, UPLOAD, Options, Row,
)
from .memory import MiB

ORDER = ["localshop", "devpi", "pypiserver", "proxpi", "peryx", "nginx", "waitress", "upstream", "floor"]
ARROWS = {"higher": "↑", "lower": "↓", "": ""}


def _servers(rows: list[Row]) -> list[str]:
    present = {r.server for r in rows}
    return [s for s in ORDER if s in present] + sorted(present - set(ORDER))


def _scenario_key(title: str) -> str:
    return title[:3] if title.startswith("(") else ""


def table(rows: list[Row]) -> str:
    """A Markdown table: scenario, metric, better, each server's value, localshop ÷ each peer."""
    servers = _servers(rows)
    cells: dict[tuple[str, str], dict[str, Row]] = {}
    order: list[tuple[str, str]] = []
    for r in rows:
        key = (r.scenario, r.metric)
        if key not in cells:
            cells[key] = {}
            order.append(key)
        cells[key][r.server] = r
    first = {key: i for i, key in enumerate(order)}
    order.sort(key=lambda k: (_scenario_key(k[0]), first[k]))
    peers = [s for s in servers if s != "localshop"]
    ratio_peers = [p for p in peers if any(
        isinstance(c.get(p, Row("", "", "", "")).value, float) and isinstance(
            c.get("localshop", Row("", "", "", "")).value, float) for c in cells.values())]
    header = ["scenario", "metric", "better", *servers, *(f"localshop ÷ {p}" for p in ratio_peers)]
    lines = []
    for key in order:
        by_server = cells[key]
        better = next((r.better for r in by_server.values() if r.better), "")
        values = [by_server[s].formatted() if s in by_server else "" for s in servers]
        ratios = []
        for p in ratio_peers:
            mine, theirs = by_server.get("localshop"), by_server.get(p)
            if (mine and theirs and isinstance(mine.value, float) and isinstance(theirs.value, float)
                    and theirs.value and better):
                ratios.append(f"{mine.value / theirs.value:.2f}x")
            else:
                ratios.append("")
        lines.append([key[0], key[1], ARROWS[better], *values, *ratios])
    widths = [max(len(x[i]) for x in [header, *lines]) for i in range(len(header))]
    numeric = set(range(3, len(header)))

    def fmt(row: list[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if i in numeric else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(row, widths))) + " |"

    rule = "|" + "|".join("-" * (w + 1) + (":" if i in numeric else "-") for i, w in enumerate(widths)) + "|"
    return "\n".join([fmt(header), rule, *(fmt(line) for line in lines)])


@dataclass(frozen=True)
class Check:
    target: str
    met: bool | None  # None: not measured in this run
    detail: str

    def line(self) -> str:
        verdict = {True: "met", False: "MISSED", None: "not measured"}[self.met]
        return f"- {self.target}: **{verdict}** ({self.detail})"


def targets(rows: list[Row], options: Options) -> list[Check]:
    """Issue 5's targets (a) to (e), each check with the numbers it compared."""
    values = {(r.server, r.scenario, r.metric): r.value for r in rows if isinstance(r.value, float)}

    def get(server: str, scenario: str, metric: str) -> float | None:
        return values.get((server, scenario, metric))

    checks: list[Check] = []
    small, large = options.sizes[0], options.sizes[-1]
    sizes = {small: f"{small:,} projects", large: f"{large:,} projects"}
    # (a) >= 10x devpi's requests/s at 16 clients; 20,000 projects within 1.2x of 2,000.
    for fmt in ("HTML", "JSON"):
        metric = f"{fmt}, 16 clients: requests/s"
        for size, label in sizes.items():
            scenario = f"{PROJECT_PAGE.label}, {label}"
            mine, devpi = get("localshop", scenario, metric), get("devpi", scenario, metric)
            checks.append(_ratio_check(
                f"(a) project page {fmt}, {label}: >= 10x devpi's requests/s at 16 clients",
                mine, devpi, lambda m, d: m >= 10 * d, "req/s", "devpi"))
        if small != large:
            a = get("localshop", f"{PROJECT_PAGE.label}, {sizes[small]}", metric)
            b = get("localshop", f"{PROJECT_PAGE.label}, {sizes[large]}", metric)
            checks.append(Check(
                f"(a) project page {fmt}: {large:,}-project figure within 1.2x of the {small:,}-project one",
                None if a is None or b is None else a <= 1.2 * b,
                "not measured" if a is None or b is None else
                f"{b:,.0f} vs {a:,.0f} req/s at 16 clients: {a / b:.2f}x",
            ))
    # (b) 20,000-project root page within 2x of nginx's time (median latency, one client).
    scenario = f"{ROOT_PAGE.label}, {sizes[large]}"
    for fmt in ("HTML", "JSON"):
        metric = f"{fmt}, 1 client: p50 latency"
        mine, nginx = get("localshop", scenario, metric), get("nginx", scenario, metric)
        checks.append(_ratio_check(
            f"(b) root page {fmt}, {sizes[large]}: within 2x of nginx's time (p50, 1 client)",
            mine, nginx, lambda m, n: m <= 2 * n, "ms", "nginx"))
    # (c) >= 50% of nginx's single-client throughput; RSS growth <= 20 MB.
    mine, nginx = (get(s, DOWNLOAD.label, "1 client: throughput") for s in ("localshop", "nginx"))
    checks.append(_ratio_check("(c) 50 MB download: >= 50% of nginx's single-client MB/s",
                               mine, nginx, lambda m, n: m >= 0.5 * n, "MB/s", "nginx"))
    growth = [get("localshop", DOWNLOAD.label, f"{n} client{'s' if n > 1 else ''}: server peak RSS growth")
              for n in options.download_clients]
    checks.append(_limit_check("(c) 50 MB download: server RSS growth <= 20 MB",
                               None if None in growth else max(growth)))
    # (d) wall time <= pypiserver's; RSS growth <= 20 MB.
    mine, pypiserver = (get(s, UPLOAD.label, "wall time") for s in ("localshop", "pypiserver"))
    checks.append(_ratio_check("(d) twine upload: wall time <= pypiserver's", mine, pypiserver,
                               lambda m, p: m <= p, "s", "pypiserver"))
    checks.append(_limit_check("(d) twine upload: server RSS growth <= 20 MB",
                               get("localshop", UPLOAD.label, "server peak RSS growth")))
    # (e) cold <= 1.5x and warm <= 1.0x of pip straight from the upstream, run between them.
    warm_metric = f"warm: wall time (median of {options.mirror_warm_runs})"
    direct = get("localshop", MIRROR.label, DIRECT_BESIDE)
    for label, metric, factor in (("cold", "cold: wall time", 1.5), ("warm", warm_metric, 1.0)):
        mine = get("localshop", MIRROR.label, metric)
        checks.append(_ratio_check(
            f"(e) mirror, {label}: <= {factor}x of pip straight from the upstream (run between them)",
            mine, direct, lambda m, d, f=factor: m <= f * d, "s", "direct"))
    return checks


def _ratio_check(target: str, mine, theirs, ok, unit: str, who: str) -> Check:
    if mine is None or theirs is None:
        return Check(target, None, f"localshop {_fmt(mine, unit)}, {who} {_fmt(theirs, unit)}")
    return Check(target, bool(ok(mine, theirs)),
                 f"localshop {_fmt(mine, unit)}, {who} {_fmt(theirs, unit)}: {mine / theirs:.2f}x")


def _limit_check(target: str, growth_mib: float | None) -> Check:
    if growth_mib is None:
        return Check(target, None, "not measured")
    return Check(target, growth_mib * MiB <= RSS_LIMIT, f"localshop {growth_mib:.1f} MiB "
                 f"= {growth_mib * MiB / 1e6:.1f} MB")


def _fmt(value, unit: str) -> str:
    if value is None:
        return "not measured"
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:,.{digits}f} {unit}"
