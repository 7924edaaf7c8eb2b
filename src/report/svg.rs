//! Charts as inline SVG, written by hand: a few rectangles and labels each, so the page needs no
//! script or stylesheet from outside and no charting crate.

use std::fmt::Write as _;

use super::esc;

/// One bar of a [`bar_chart`].
pub struct Bar<'a> {
    pub label: &'a str,
    pub value: usize,
    /// Bars of a second group (flags, beside cases) are drawn in another colour.
    pub group: u8,
}

/// Horizontal bars with their count and share of `total`, one per line.
pub fn bar_chart(bars: &[Bar], total: usize) -> String {
    const LABEL: usize = 130;
    const WIDTH: usize = 360;
    const LINE: usize = 22;
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let height = bars.len() * LINE + 8;
    let mut s = format!(
        "<svg class=chart width={} height={height} viewBox=\"0 0 {} {height}\" role=img>",
        LABEL + WIDTH + 110,
        LABEL + WIDTH + 110
    );
    for (k, bar) in bars.iter().enumerate() {
        let y = 4 + k * LINE;
        let w = bar.value * WIDTH / max;
        let share = if total == 0 { 0.0 } else { bar.value as f64 * 100.0 / total as f64 };
        let label = esc(bar.label);
        let _ = write!(
            s,
            "<text x={} y={} text-anchor=end>{label}</text><rect class=g{} x={LABEL} y={} width={w} height={}>\
             <title>{label}: {} ({share:.1}%)</title></rect><text x={} y={}>{} · {share:.1}%</text>",
            LABEL - 6,
            y + 15,
            bar.group,
            y + 2,
            LINE - 6,
            bar.value,
            LABEL + w + 6,
            y + 15,
            bar.value
        );
    }
    s.push_str("</svg>");
    s
}

/// Bins for a histogram of values in `[lo, hi)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bins {
    pub lo: f64,
    pub width: f64,
    pub count: usize,
    /// Values are whole numbers (labels without decimals).
    pub integer: bool,
}

impl Bins {
    /// Bins for counts (tokens, calls, turns) from 0 up to past the largest value and `marker`: one
    /// per value when few, else about 30 of a round width.
    pub fn for_counts(values: &[usize], marker: Option<usize>) -> Bins {
        let top = values.iter().copied().max().unwrap_or(0).max(marker.unwrap_or(0)) + 1;
        if top <= 40 {
            return Bins { lo: 0.0, width: 1.0, count: top, integer: true };
        }
        let raw = top.div_ceil(30);
        let magnitude = 10usize.pow(raw.ilog10());
        let width = [1, 2, 5, 10].iter().map(|m| m * magnitude).find(|&w| w >= raw).unwrap_or(raw);
        Bins { lo: 0.0, width: width as f64, count: top.div_ceil(width), integer: true }
    }

    /// 20 bins over [0, 1] (shares); 1 goes in the last.
    pub fn for_shares() -> Bins {
        Bins { lo: 0.0, width: 0.05, count: 20, integer: false }
    }

    fn index(&self, value: f64) -> usize {
        (((value - self.lo) / self.width).floor().max(0.0) as usize).min(self.count - 1)
    }

    /// How many values fall in each bin.
    pub fn counts(&self, values: impl Iterator<Item = f64>) -> Vec<usize> {
        let mut counts = vec![0; self.count.max(1)];
        if self.count == 0 {
            return counts;
        }
        for v in values {
            counts[self.index(v)] += 1;
        }
        counts
    }

    fn label(&self, value: f64) -> String {
        if self.integer {
            format!("{}", value.round() as i64)
        } else {
            format!("{value:.2}")
        }
    }
}

/// A vertical line across a histogram at `at`, labelled.
pub struct Marker<'a> {
    pub at: f64,
    pub label: &'a str,
}

/// A histogram of `values` in `bins`, with an optional marker line.
pub fn histogram(values: impl Iterator<Item = f64>, bins: Bins, marker: Option<Marker>) -> String {
    const W: f64 = 340.0;
    const H: f64 = 140.0;
    const LEFT: f64 = 40.0;
    const TOP: f64 = 18.0;
    let counts = bins.counts(values);
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let bar = W / counts.len() as f64;
    let (width, height) = (LEFT + W + 24.0, TOP + H + 22.0);
    let mut s = format!("<svg class=chart width={width} height={height} viewBox=\"0 0 {width} {height}\" role=img>");
    let _ = write!(
        s,
        "<line class=ax x1={LEFT} y1={} x2={} y2={} /><text x={} y={} text-anchor=end>{max}</text>\
         <text x={} y={} text-anchor=end>0</text>",
        TOP + H,
        LEFT + W,
        TOP + H,
        LEFT - 4.0,
        TOP + 10.0,
        LEFT - 4.0,
        TOP + H
    );
    for (k, &n) in counts.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let h = (n as f64 / max as f64 * H).max(1.0);
        let (from, to) = (bins.lo + k as f64 * bins.width, bins.lo + (k + 1) as f64 * bins.width);
        let range = if bins.integer && bins.width == 1.0 {
            bins.label(from)
        } else {
            format!("{}–{}", bins.label(from), bins.label(to))
        };
        let _ = write!(
            s,
            "<rect class=g0 x={:.1} y={:.1} width={:.1} height={h:.1}><title>{range}: {n}</title></rect>",
            LEFT + k as f64 * bar + 0.5,
            TOP + H - h,
            (bar - 1.0).max(0.5)
        );
    }
    let end = bins.lo + bins.count as f64 * bins.width;
    // Labels: under the bars' middles when each bar is one whole number, else at a few bin edges.
    let per_value = bins.integer && bins.width == 1.0;
    let edges = if per_value { counts.len() } else { counts.len() + 1 };
    let step = edges.div_ceil(if per_value { 12 } else { 6 }).max(1);
    for k in (0..edges).step_by(step) {
        let (x, value) = match per_value {
            true => (LEFT + (k as f64 + 0.5) * bar, bins.lo + k as f64),
            false => (LEFT + k as f64 * bar, bins.lo + k as f64 * bins.width),
        };
        let _ = write!(s, "<text x={x:.1} y={} text-anchor=middle>{}</text>", TOP + H + 16.0, bins.label(value));
    }
    if let Some(m) = marker {
        let x = LEFT + (m.at - bins.lo) / (end - bins.lo) * W;
        let _ = write!(
            s,
            "<line class=mark x1={x:.1} y1={} x2={x:.1} y2={} /><text class=mark x={:.1} y=12 text-anchor=end>{}</text>",
            TOP - 4.0,
            TOP + H,
            x.max(LEFT + 150.0),
            esc(m.label)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_bins_are_one_per_value_when_few_and_round_when_many() {
        let few = Bins::for_counts(&[0, 3, 7], None);
        assert_eq!((few.width, few.count), (1.0, 8));
        assert_eq!(few.counts([0.0, 3.0, 7.0, 7.0].into_iter()), vec![1, 0, 0, 1, 0, 0, 0, 2]);
        let many = Bins::for_counts(&[221, 4335], Some(8192));
        assert_eq!(many.width, 500.0, "8193 / 30 = 274, rounded up to 500");
        assert!(many.lo + many.count as f64 * many.width > 8192.0, "the marker is inside the chart");
        let shares = Bins::for_shares();
        assert_eq!(shares.counts([0.0, 0.5, 1.0].into_iter())[19], 1, "a share of 1 is in the last bin");
    }

    #[test]
    fn charts_escape_their_labels_and_draw_one_rect_per_filled_bin() {
        let bars = [Bar { label: "<b>&", value: 3, group: 0 }, Bar { label: "ok", value: 1, group: 1 }];
        let svg = bar_chart(&bars, 4);
        assert!(svg.contains("&lt;b&gt;&amp;: 3 (75.0%)"), "{svg}");
        assert!(!svg.contains("<b>"));
        let hist = histogram(
            [1.0, 1.0, 5.0].into_iter(),
            Bins::for_counts(&[1, 5], None),
            Some(Marker { at: 4.0, label: "max-length 4" }),
        );
        assert_eq!(hist.matches("<rect").count(), 2);
        assert!(hist.contains("<title>1: 2</title>"));
        assert!(hist.contains("class=mark") && hist.contains("max-length 4"));
    }
}
