//! A self-contained HTML report an analyst opens in any browser, offline: the run's
//! summary, an overview of the scene with the sites outlined and numbered, a table of
//! sites with their counts per class (and what appeared, went and stayed when a change
//! is given), and for each of the largest sites a picture of the scene around it with
//! its boxes drawn, beside the same place on the earlier date when a before scene is
//! given.
//!
//! The page loads nothing: pictures are embedded as JPEG `data:` URIs, the style sheet
//! is inline, there is no script and no web font. Boxes and outlines are SVG drawn over
//! the pictures, so they stay sharp at any zoom. Pictures are read window by window
//! (never more than [`MAX_WINDOW_PX`] scene pixels at once) and the page is bounded:
//! at most [`MAX_CHIPS`] site pictures and [`MAX_TABLE_SITES`] table rows, whatever the
//! number of sites; the page says when it left some out.

mod chips;
mod html;
mod place;
mod raster;
mod summary;

pub use raster::MAX_WINDOW_PX;

use crate::analysis::{Change, Site};
use crate::detection::Detections;
use crate::error::Result;
use crate::raster::Scene;
use html::esc;
use place::{Locator, Placed};
use raster::View;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

/// Site pictures at most: those of the largest sites (by total, then id).
pub const MAX_CHIPS: usize = 50;
/// Sites listed in the table and outlined on the overview at most (the largest).
pub const MAX_TABLE_SITES: usize = 1000;
/// The overview's long side in pixels at most (smaller scenes are shown at full size).
pub const OVERVIEW_MAX_PX: u32 = 1600;
/// A site picture's long side in pixels (its scene window resampled to it).
pub const CHIP_PX: u32 = 360;

/// What a report shows. Build it with [`ReportInput::new`] and the `with_` methods.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    /// The detections of `scene`, with the run's metadata (acquisition date, model,
    /// thresholds, tiles, times, warnings).
    pub detections: &'a Detections,
    /// The scene the detections were made on (pictures are read from it).
    pub scene: &'a Scene,
    /// Sites of these detections (largest first), possibly none.
    pub sites: &'a [Site],
    /// The change from an earlier date to these detections, if any.
    pub change: Option<&'a Change>,
    /// The earlier date's scene, for the pictures beside each site's.
    pub before_scene: Option<&'a Scene>,
}

impl<'a> ReportInput<'a> {
    /// A report of `detections` made on `scene`, without sites, change or before scene.
    pub fn new(detections: &'a Detections, scene: &'a Scene) -> Self {
        ReportInput {
            detections,
            scene,
            sites: &[],
            change: None,
            before_scene: None,
        }
    }

    /// Adds the sites (a table row, an outline on the overview, and a picture each).
    pub fn with_sites(mut self, sites: &'a [Site]) -> Self {
        self.sites = sites;
        self
    }

    /// Adds the change since an earlier date (counts per class and site).
    pub fn with_change(mut self, change: &'a Change) -> Self {
        self.change = Some(change);
        self
    }

    /// Adds the earlier date's scene (a picture of each site on that date).
    pub fn with_before_scene(mut self, scene: &'a Scene) -> Self {
        self.before_scene = Some(scene);
        self
    }
}

/// Writes the report of `input` to `path` as one self-contained HTML file, atomically
/// and never over an input (the scenes, their side-cars, the model).
///
/// # Errors
/// [`crate::Error::Output`] when `path` is an input or cannot be written (the previous
/// file, if any, is kept); the scenes' read errors when a window cannot be read.
///
/// ```
/// use satdet::output::report::{self, ReportInput};
/// use satdet::{Detections, Scene};
/// # fn main() -> satdet::Result<()> {
/// # let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/generated");
/// # if !fixtures.join("utm_rgb_tiled_lzw.tif").is_file() { return Ok(()); }
/// let scene = Scene::open(fixtures.join("utm_rgb_tiled_lzw.tif"))?;
/// let dets = Detections {
///     items: Vec::new(),
///     scene: scene.path().to_path_buf(),
///     crs: None,
///     acquired: Some("2025-09-13".into()),
///     report: Default::default(),
/// };
/// let out = std::env::temp_dir().join(format!("satdet-report-{}.html", std::process::id()));
/// report::write(&out, &ReportInput::new(&dets, &scene))?;
/// let html = std::fs::read_to_string(&out).unwrap();
/// assert!(html.contains("2025-09-13") && !html.contains("https://"));
/// # std::fs::remove_file(&out).ok();
/// # Ok(())
/// # }
/// ```
pub fn write(path: impl AsRef<Path>, input: &ReportInput<'_>) -> Result<()> {
    write_with_progress(path, input, |_, _| {})
}

/// [`write()`], calling `progress(done, total)` after the overview and after each site
/// picture (`total` = 1 + the site pictures): the pictures are where the time goes on a
/// large scene, each read window by window.
pub fn write_with_progress(
    path: impl AsRef<Path>,
    input: &ReportInput<'_>,
    mut progress: impl FnMut(usize, usize),
) -> Result<()> {
    let path = path.as_ref();
    let mut scenes = vec![input.scene.path(), input.detections.scene.as_path()];
    if let Some(b) = input.before_scene {
        scenes.push(b.path());
    }
    crate::output::check_result_output(&scenes, &input.detections.report.model, path)?;
    let page = render(input, path, &mut progress)?;
    crate::output::write_atomic(path, |w| {
        w.write_all(page.as_bytes())
            .map_err(crate::output::atomic::io_err(path))
    })
}

/// The whole page. `path` names the output in errors.
fn render(
    input: &ReportInput<'_>,
    path: &Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<String> {
    let dets = input.detections;
    let locator = Locator::new(input.scene);
    let mut order: Vec<&Site> = input.sites.iter().collect();
    order.sort_by(|a, b| b.total.cmp(&a.total).then(a.id.cmp(&b.id)));
    order.truncate(MAX_TABLE_SITES);
    let placed: Vec<Placed<'_>> = order
        .iter()
        .map(|s| place::place(s, &dets.items, locator.as_ref()))
        .collect();
    let site_change = input
        .change
        .map(|c| place::change_per_site(c, &placed))
        .unwrap_or_default();

    let name = input
        .scene
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| input.scene.path().display().to_string());
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>satdet report: {}</title><style>{}</style></head><body>\n\
         <h1>satdet report: {}</h1>\n",
        esc(&name),
        html::STYLE,
        esc(&name)
    );
    summary::write_summary(&mut page, input);
    let total = 1 + placed
        .iter()
        .filter(|p| p.rect.is_some())
        .count()
        .min(MAX_CHIPS);
    overview(&mut page, input, &placed, path)?;
    progress(1, total);
    summary::write_site_table(&mut page, input, &placed, &site_change);
    chips::write_chips(
        &mut page,
        input,
        &placed,
        locator.as_ref(),
        path,
        &mut |done| progress(1 + done, total),
    )?;
    page.push_str("</body></html>\n");
    Ok(page)
}

/// The overview: the scene at most [`OVERVIEW_MAX_PX`] on its long side, each detection
/// marked in its class colour, each site outlined and numbered.
fn overview(
    page: &mut String,
    input: &ReportInput<'_>,
    placed: &[Placed<'_>],
    path: &Path,
) -> Result<()> {
    let scene = input.scene;
    let (w, h) = (f64::from(scene.width()), f64::from(scene.height()));
    let side = OVERVIEW_MAX_PX.min(scene.width().max(scene.height()));
    let view = View::fit([0.0, 0.0, w, h], side);
    let scaling = scaling_of(scene, input.detections)?;
    let bands = crate::output::display_bands(scene, Some(&input.detections.report.bands));
    let mut img = raster::render_reduced(scene, &scaling, bands, &view)?;
    for d in input.detections {
        crate::output::draw::mark(
            &mut img,
            d,
            |x, y| view.out_of(x, y),
            view.scale,
            html::colour(d.class_id),
        );
    }
    let mut overlay = String::new();
    for p in placed {
        let Some(r) = p.rect else { continue };
        let to = |q: [f64; 2]| {
            let (x, y) = view.out_of(q[0], q[1]);
            [x, y]
        };
        let ring: Vec<[f64; 2]> = p.ring.iter().map(|&q| to(q)).collect();
        let (a, b) = (to([r[0], r[1]]), to([r[2], r[3]]));
        html::svg_site(&mut overlay, p.site.id, &ring, [a[0], a[1], b[0], b[1]]);
    }
    let uri = raster::jpeg_data_uri(&img, path)?;
    page.push_str("<section id=\"overview\"><h2>Overview</h2>\n");
    html::figure(
        page,
        "overview",
        &uri,
        (view.width, view.height),
        "overview of the scene",
        &overlay,
    );
    let _ = writeln!(
        page,
        "<p class=\"note\">{} × {} scene pixels shown at 1:{:.1}; detections marked in their \
         class colour, sites outlined in yellow and numbered.</p></section>",
        scene.width(),
        scene.height(),
        view.scale.max(1.0)
    );
    Ok(())
}

/// The display scaling of the detections' own scene: the run's stretch when it has one.
fn scaling_of(scene: &Scene, dets: &Detections) -> Result<crate::raster::Scaling> {
    let run = dets.report.scaling;
    let preferred = (run != crate::raster::Scaling::u8()).then_some(run);
    raster::display_scaling(scene, preferred)
}
