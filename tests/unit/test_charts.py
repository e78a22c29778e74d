"""The dashboard's charts: series of daily values drawn as well-formed, escaped SVG."""
from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET

import pytest

from shop.model.stats import Stats, last_days
from shop.pages import charts
from shop.pages.charts import Series
from shop.pages.dashboard import dashboard_charts, days_shown
from shop.pages.units import short_size, size

SVG = "{http://www.w3.org/2000/svg}"
TODAY = datetime.date(2026, 12, 1)
DAYS = last_days(TODAY, 30)


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # fails on markup that is not well-formed


def days_of(svg: ET.Element) -> list[ET.Element]:
    return [g for g in svg.iter(SVG + "g") if g.get("class") == "day"]


def bars_of(day: ET.Element) -> list[ET.Element]:
    return [r for r in day.iter(SVG + "rect") if r.get("class") == "bar"]


def titles(svg: ET.Element) -> list[str]:
    return [day.find(SVG + "title").text for day in days_of(svg)]


def test_a_bar_per_day_with_its_numbers_in_its_title():
    values = [0] * 29 + [7]
    svg = parse(charts.bar_chart("Downloads", DAYS, [Series("hosted", "#123456", values)]))
    assert svg.get("role") == "img"
    assert len(days_of(svg)) == 30
    assert titles(svg)[-1] == "2026-12-01: 7 hosted"
    assert titles(svg)[0] == "2026-11-02: 0 hosted"
    heights = [float(bars_of(day)[0].get("height")) for day in days_of(svg)]
    assert heights[:29] == [0.0] * 29 and heights[29] > 0
    assert "7 hosted" in svg.get("aria-label") and "2026-12-01" in svg.get("aria-label")
    assert svg.find(SVG + "title").text == "Downloads"


def test_the_largest_day_is_scaled_to_the_axis_top_and_the_others_in_proportion():
    values = [10, 5, 0, 20]
    svg = parse(charts.bar_chart("D", DAYS[-4:], [Series("x", "#000", values)]))
    heights = [float(bars_of(day)[0].get("height")) for day in days_of(svg)]
    plot = charts.HEIGHT - charts.TOP - charts.BOTTOM
    assert heights[3] == round(plot, 1)  # 20 is the top of the axis: 1, 2 or 5 times ten
    assert heights[0] == round(plot / 2, 1) and heights[1] == round(plot / 4, 1)
    labels = [t.text for t in svg.iter(SVG + "text")]
    assert "20" in labels and "10" in labels and "0" in labels  # the y axis says its values


def test_series_are_stacked_and_a_legend_names_them():
    svg = parse(charts.bar_chart("D", DAYS[-2:], [Series("hosted", "#111", [1, 2]),
                                                   Series("mirrored", "#222", [3, 0])]))
    first, second = days_of(svg)
    hosted, mirrored = bars_of(first)
    top_of_hosted = float(mirrored.get("y")) + float(mirrored.get("height"))
    assert top_of_hosted == pytest.approx(float(hosted.get("y")), abs=0.11)
    assert titles(svg) == ["2026-11-30: 1 hosted, 3 mirrored", "2026-12-01: 2 hosted, 0 mirrored"]
    labels = [t.text for t in svg.iter(SVG + "text")]
    assert "hosted" in labels and "mirrored" in labels


def test_nothing_but_zeros_is_an_empty_chart_that_says_so():
    svg = parse(charts.bar_chart("D", DAYS, [Series("x", "#000", [0] * 30)]))
    assert days_of(svg) == []
    assert "No data yet" in [t.text for t in svg.iter(SVG + "text")]
    line = parse(charts.line_chart("Bytes", DAYS, Series("stored", "#000", [0] * 30)))
    assert days_of(line) == [] and "No data yet" in [t.text for t in line.iter(SVG + "text")]


def test_the_dates_on_the_x_axis_end_with_today():
    svg = parse(charts.bar_chart("D", DAYS, [Series("x", "#000", [1] * 30)]))
    labels = [t.text for t in svg.iter(SVG + "text")]
    assert "Dec 1" in labels and "Nov 24" in labels and "Nov 2" not in labels


def test_a_year_has_a_few_dates_a_week_every_day():
    def dates(count):
        svg = parse(charts.bar_chart("D", last_days(TODAY, count), [Series("x", "#000", [1] * count)]))
        return [t.text for t in svg.iter(SVG + "text") if t.text[:3] in ("Nov", "Dec", "Oct", "Sep")
                or t.text[:3] in ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug")]

    assert dates(7) == ["Dec 1", "Nov 30", "Nov 29", "Nov 28", "Nov 27", "Nov 26", "Nov 25"]
    assert 4 <= len(dates(365)) <= 6 and dates(365)[0] == "Dec 1"


def test_words_are_escaped():
    hostile = '<script>"&'
    markup = charts.bar_chart(hostile, DAYS[-1:], [Series(hostile, "#000", [1])], notes=[hostile])
    svg = parse(markup)
    assert "<script>" not in markup
    assert svg.find(SVG + "title").text == hostile
    assert hostile in titles(svg)[0] and hostile in svg.get("aria-label")


def test_a_line_has_a_point_per_day_with_its_value():
    values = [0] * 28 + [1024 * 1024, 3 * 1024 * 1024]
    svg = parse(charts.line_chart("Bytes stored", DAYS, Series("stored", "#000", values),
                                  fmt=size, ceiling=charts.binary_ceiling))
    points = [day.find(SVG + "circle") for day in days_of(svg)]
    assert len(points) == 30
    assert float(points[-1].get("cy")) < float(points[-2].get("cy")) < float(points[0].get("cy"))
    assert titles(svg)[-1] == "2026-12-01: 3.0 MiB stored"
    assert "3.0 MiB stored on 2026-12-01" in svg.get("aria-label")
    labels = [t.text for t in svg.iter(SVG + "text")]
    assert "4.0 MiB" in labels and "2.0 MiB" in labels  # round sizes up the axis


def test_a_line_leaves_out_the_days_before_its_first_value():
    values = [None] * 27 + [0, 5, 10]
    svg = parse(charts.line_chart("Bytes stored", DAYS, Series("stored", "#000", values),
                                  axis=short_size))
    assert titles(svg) == ["2026-11-29: 0 stored", "2026-11-30: 5 stored", "2026-12-01: 10 stored"]
    assert len(svg.find(SVG + "polyline").get("points").split()) == 3
    assert "10 stored on 2026-12-01" in svg.get("aria-label")


def test_no_style_attribute_or_script_anywhere():
    history = Stats()
    history.add(TODAY, "downloads:hosted", 3)
    for chart in dashboard_charts(history, TODAY):
        svg = parse(chart.svg)
        assert all("style" not in e.attrib for e in svg.iter())
        assert not [e for e in svg.iter() if e.tag in (SVG + "script", SVG + "style")]


def test_the_hit_ratio_is_a_percentage_of_mirrored_downloads():
    history = Stats()
    history.add(TODAY, "cache:hit", 3)
    history.add(TODAY, "cache:miss", 1)
    history.add(TODAY - datetime.timedelta(days=1), "cache:miss", 2)
    hits = next(c for c in dashboard_charts(history, TODAY) if c.key == "hits")
    svg = parse(hits.svg)
    assert titles(svg)[-1] == "2026-12-01: 75 % from the cache (3 of 4 mirrored downloads from the cache)"
    assert titles(svg)[-2].startswith("2026-11-30: 0 % from the cache (0 of 2")
    assert "50 % of 6 mirrored downloads" in svg.get("aria-label")


def test_the_days_a_request_may_ask_for():
    assert days_shown(None) == 30 and days_shown("7") == 7 and days_shown("365") == 365
    assert [days_shown(v) for v in ("0", "6", "401", "0400000", "x", "²", "-7")] == [30] * 7
