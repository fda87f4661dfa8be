//! Small line charts drawn as inline SVG on the server: no script and no chart library.

use maud::{html, Markup};

/// One line of a chart: a label, a CSS class for its colour, and one value per bucket (`None`
/// where nothing was measured).
pub struct Series<'a> {
    pub label: &'a str,
    pub class: &'a str,
    pub values: Vec<Option<f64>>,
}

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 160.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 20.0;

/// A round upper bound for the axis: 1, 2 or 5 times a power of ten.
fn nice_ceiling(value: f64) -> f64 {
    if value <= 1.0 {
        return 1.0;
    }
    let power = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|step| step * power)
        .find(|candidate| *candidate >= value)
        .unwrap_or(10.0 * power)
}

/// Formats an axis value without needless decimals.
fn axis_label(value: f64) -> String {
    let (value, suffix) = if value >= 1000.0 {
        (value / 1000.0, "k")
    } else {
        (value, "")
    };
    if value.fract() == 0.0 {
        format!("{value:.0}{suffix}")
    } else {
        format!("{value:.1}{suffix}")
    }
}

/// Where the `index`th of `count` values is drawn, on an axis that ends at `top`.
fn point(index: usize, count: usize, value: f64, top: f64) -> (f64, f64) {
    let plot_width = WIDTH - LEFT;
    let plot_height = HEIGHT - BOTTOM;
    let step = plot_width / (count.max(2) - 1) as f64;
    let x = LEFT + step * index as f64;
    let y = plot_height - (value / top).clamp(0.0, 1.0) * plot_height;
    (x, y)
}

/// The SVG path of one series; gaps where values are missing.
fn path(values: &[Option<f64>], top: f64) -> String {
    let mut path = String::new();
    let mut pen_down = false;
    for (index, value) in values.iter().enumerate() {
        let Some(value) = value else {
            pen_down = false;
            continue;
        };
        let (x, y) = point(index, values.len(), *value, top);
        path.push_str(&format!(
            "{}{x:.1},{y:.1} ",
            if pen_down { "L" } else { "M" }
        ));
        pen_down = true;
    }
    path
}

/// Where the newest value of a series is drawn, if it has one.
fn last_point(values: &[Option<f64>], top: f64) -> Option<(f64, f64)> {
    let (index, value) = values
        .iter()
        .enumerate()
        .rev()
        .find_map(|(index, value)| value.map(|value| (index, value)))?;
    Some(point(index, values.len(), value, top))
}

/// A line chart of the last hour, one point per minute; `title` names it for screen readers.
pub fn line_chart(title: &str, series: &[Series<'_>]) -> Markup {
    let highest = series
        .iter()
        .flat_map(|line| line.values.iter().flatten())
        .fold(0.0f64, |max, value| max.max(*value));
    let top = nice_ceiling(highest);
    let plot_height = HEIGHT - BOTTOM;
    html! {
        figure.chart {
            svg viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-label=(title) {
                line.axis x1=(LEFT) y1="0" x2=(LEFT) y2=(plot_height) {}
                line.axis x1=(LEFT) y1=(plot_height) x2=(WIDTH) y2=(plot_height) {}
                line.grid x1=(LEFT) y1=(plot_height / 2.0) x2=(WIDTH) y2=(plot_height / 2.0) {}
                text.tick x=(LEFT - 6.0) y="10" text-anchor="end" { (axis_label(top)) }
                text.tick x=(LEFT - 6.0) y=(plot_height / 2.0 + 4.0) text-anchor="end" { (axis_label(top / 2.0)) }
                text.tick x=(LEFT - 6.0) y=(plot_height) text-anchor="end" { "0" }
                text.tick x=(LEFT) y=(HEIGHT - 4.0) { "-60 min" }
                text.tick x=(WIDTH) y=(HEIGHT - 4.0) text-anchor="end" { "now" }
                @for line in series {
                    path class=(format!("series {}", line.class)) d=(path(&line.values, top)) {}
                    // The newest value stands out, also while it is the only one.
                    @if let Some((x, y)) = last_point(&line.values, top) {
                        circle class=(format!("now {}", line.class)) cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="3" {}
                    }
                }
            }
            figcaption {
                @for line in series {
                    span class=(format!("key {}", line.class)) { (line.label) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_ends_at_a_round_number() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(20.0), 20.0);
        assert_eq!(nice_ceiling(730.0), 1000.0);
        assert_eq!(axis_label(0.5), "0.5");
        assert_eq!(axis_label(2500.0), "2.5k");
        assert_eq!(axis_label(20_000.0), "20k");
    }

    #[test]
    fn missing_values_leave_gaps() {
        let drawn = path(&[Some(0.0), Some(10.0), None, Some(5.0)], 10.0);
        assert_eq!(drawn.matches('M').count(), 2, "{drawn}");
        assert_eq!(drawn.matches('L').count(), 1, "{drawn}");
        // The highest value touches the top, zero the axis.
        assert!(drawn.starts_with("M48.0,140.0 L232.0,0.0"), "{drawn}");
        assert_eq!(
            last_point(&[Some(0.0), Some(10.0), Some(5.0), None], 10.0),
            Some((416.0, 70.0))
        );
        assert_eq!(last_point(&[None, None], 10.0), None);
    }
}
