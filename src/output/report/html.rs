//! HTML pieces of the report: escaping, the inline style sheet, class colours and the
//! vector overlays (site outlines, boxes) drawn over the embedded pictures.

use std::fmt::Write as _;

/// The colour of class `class_id`.
pub(super) fn colour(class_id: u32) -> [u8; 3] {
    crate::output::class_colour(class_id)
}

/// `#rrggbb`.
pub(super) fn hex(c: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

pub(super) use crate::output::escape_markup as esc;

/// The page's whole style sheet (inline: the report loads nothing).
pub(super) const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:1.5em;color:#1d1d1f;background:#fafafa}\
h1{font-size:1.5em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}\
th{background:#eee}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.kv th{width:12em}.chg{color:#555;font-size:.85em;white-space:nowrap}\
.warn{color:#8a4b00}.note{color:#555;font-style:italic}\
.swatch{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:middle;border:1px solid #333}\
.fig{position:relative;display:inline-block;line-height:0;background:#202024}\
.fig img{display:block;max-width:100%;height:auto}.chip-after img,.chip-before img{image-rendering:pixelated}\
.fig svg{position:absolute;left:0;top:0;width:100%;height:100%;overflow:visible}\
.pair{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}\
figure{margin:0}figcaption{font-size:.85em;color:#444;margin-top:.3em;line-height:1.3}\
.site{margin:1.2em 0;padding-top:.4em;border-top:1px solid #ddd}\
svg text{font:bold 15px sans-serif;fill:#fff;stroke:#000;stroke-width:3px;paint-order:stroke}\
";

/// An `<img>` of a data URI inside a `.fig` box, with an SVG overlay in the picture's own
/// pixel coordinates (`viewBox`), so shapes stay aligned whatever size the page gives it.
pub(super) fn figure(
    out: &mut String,
    class: &str,
    uri: &str,
    (w, h): (u32, u32),
    alt: &str,
    overlay: &str,
) {
    let _ = write!(
        out,
        "<div class=\"fig {class}\"><img src=\"{uri}\" width=\"{w}\" height=\"{h}\" alt=\"{}\">\
         <svg viewBox=\"0 0 {w} {h}\" preserveAspectRatio=\"none\" aria-hidden=\"true\">{overlay}</svg></div>",
        esc(alt)
    );
}

/// The stroke every box outline gets: `colour`, 2 px, dashed for objects that appeared or
/// are gone.
fn stroke(colour: [u8; 3], dashed: bool) -> String {
    format!(
        "fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}",
        hex(colour),
        if dashed {
            " stroke-dasharray=\"4 3\""
        } else {
            ""
        }
    )
}

/// An SVG polygon through `ring` (output pixels; an oriented box's corners), stroked as
/// [`svg_rect`] strokes.
pub(super) fn svg_polygon(
    out: &mut String,
    ring: &[[f64; 2]],
    colour: [u8; 3],
    dashed: bool,
    class: &str,
) {
    let points: Vec<String> = ring
        .iter()
        .map(|p| format!("{:.1},{:.1}", p[0], p[1]))
        .collect();
    let _ = write!(
        out,
        "<polygon class=\"{class}\" points=\"{}\" {}/>",
        points.join(" "),
        stroke(colour, dashed)
    );
}

/// An SVG rectangle `[x0, y0, x1, y1]` (output pixels), stroked in `colour`; `dashed`
/// marks objects that appeared or are gone.
pub(super) fn svg_rect(out: &mut String, r: [f64; 4], colour: [u8; 3], dashed: bool, class: &str) {
    let _ = write!(
        out,
        "<rect class=\"{class}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" {}/>",
        r[0],
        r[1],
        (r[2] - r[0]).max(1.0),
        (r[3] - r[1]).max(1.0),
        stroke(colour, dashed)
    );
}

/// A site's outline (output pixels) and its number, in yellow.
pub(super) fn svg_site(out: &mut String, id: u32, ring: &[[f64; 2]], rect: [f64; 4]) {
    if ring.len() >= 3 {
        out.push_str("<polygon class=\"site-outline\" fill=\"none\" stroke=\"#ffe000\" stroke-width=\"2\" points=\"");
        for p in ring {
            let _ = write!(out, "{:.1},{:.1} ", p[0], p[1]);
        }
        out.push_str("\"/>");
    } else {
        let _ = write!(
            out,
            "<rect class=\"site-outline\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#ffe000\" stroke-width=\"2\"/>",
            rect[0],
            rect[1],
            (rect[2] - rect[0]).max(2.0),
            (rect[3] - rect[1]).max(2.0)
        );
    }
    let _ = write!(
        out,
        "<text class=\"site-label\" x=\"{:.1}\" y=\"{:.1}\">{id}</text>",
        rect[2] + 3.0,
        rect[1] + 4.0
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<car & \"truck\" 'x'>"),
            "&lt;car &amp; &quot;truck&quot; &#39;x&#39;&gt;"
        );
        assert_eq!(hex([255, 0, 16]), "#ff0010");
    }
}
