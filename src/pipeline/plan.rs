//! The plan for one scene: tile size (matched to the model's GSD), grid, batch size that
//! fits the limits, and the warnings to give before reading a pixel. Reads no pixel.

use super::builder::Config;
use crate::detection::{Bands, BandsFrom, GsdMatch};
use crate::error::{Error, Result};
use crate::geo::PixelArea;
use crate::inference::{input_tensor_bytes, ModelInfo};
use crate::limits::Limits;
use crate::raster::{NamedBy, Scene, Window};
use crate::tiling::TileGrid;

/// Smallest and largest tile side accepted, in scene pixels.
pub const MIN_TILE_PX: u32 = 8;
/// Largest tile side accepted, in scene pixels.
pub const MAX_TILE_PX: u32 = 16_384;
/// Resampling between tile and model input beyond this factor (either way) is warned
/// about.
pub(crate) const MAX_RESAMPLING: f64 = 4.0;
/// A grid of more tiles than this is warned about (usually a tile size far too small).
const MANY_TILES: usize = 100_000;
/// The relative difference between the scene's GSD and the model's range below which
/// tiles are not resampled (1 %).
pub const GSD_TOLERANCE: f64 = 0.01;

/// The warning for a tile resampled more than [`MAX_RESAMPLING`] times either way.
pub(crate) fn resampling_warning(tile_px: u32, model_side: u32, advice: &str) -> Option<String> {
    let factor = f64::from(model_side) / f64::from(tile_px);
    if (1.0 / MAX_RESAMPLING..=MAX_RESAMPLING).contains(&factor) {
        return None;
    }
    let (dir, f, rel) = if factor > 1.0 {
        ("up", factor, "larger")
    } else {
        ("down", 1.0 / factor, "smaller")
    };
    Some(format!(
        "tile {tile_px} px is resampled {dir} {f:.1}x to the model's {model_side} px input: objects reach the model {f:.1}x {rel} than the scene shows them, far from the scale it was made for, and results will be poor ({advice})"
    ))
}

/// What [`super::Detector::plan`] works out for a scene before reading it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Plan {
    /// The tile grid.
    pub grid: TileGrid,
    /// Tiles per batch actually used (the requested size, lowered to fit
    /// [`Limits::max_batch_bytes`]).
    pub batch: usize,
    /// Bytes of one batch in flight (input and output tensors and raw windows).
    pub batch_bytes: u64,
    /// The tile size chosen and why.
    pub gsd: GsdMatch,
    /// Things to know before the run: the detector's warnings, then the scene's, then the
    /// plan's own (batch lowered, a very large number of tiles, an area of interest that
    /// misses the scene).
    pub warnings: Vec<String>,
    /// The area of interest's effect ([`crate::DetectorBuilder::aoi`]), when there is one.
    pub aoi: Option<AoiPlan>,
    /// The scene bands fed to the model's red, green and blue inputs, and why.
    pub bands: Bands,
}

/// Which tiles an area of interest keeps ([`Plan::aoi`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AoiPlan {
    /// Indices (row-major, ascending, as [`TileGrid::tile`] takes them) of the tiles whose
    /// window meets the area: the only tiles read and run.
    pub tiles: Vec<usize>,
    /// Tiles of the grid outside the area: never read.
    pub tiles_outside: usize,
    /// The area searched, buffer included, in km² ([`crate::Aoi::area_km2`]).
    pub area_km2: f64,
}

/// The tile grid, batch size and warnings for `scene`, checked against the limits,
/// without reading any pixel; with the area of interest placed on the scene's pixels,
/// when the detector has one.
pub(crate) fn plan(
    cfg: &Config,
    info: &ModelInfo,
    detector_warnings: &[String],
    scene: &Scene,
) -> Result<(Plan, Option<PixelArea>)> {
    let ctx = || scene.path().display().to_string();
    let mut warnings = detector_warnings.to_vec();
    warnings.extend(scene.warnings().iter().cloned());
    let (tile_px, gsd) = tile_for(cfg, info, scene, &mut warnings);
    let bands = choose_bands(cfg.bands, scene, &mut warnings)?;
    let overlap_px = (f64::from(tile_px) * cfg.overlap).round() as u32;
    let grid = TileGrid::new(scene.width(), scene.height(), tile_px, overlap_px)?;
    // Raw samples of one tile window; every factor is bounded, the product is checked.
    let window_bytes = [
        u64::from(tile_px),
        u64::from(scene.info().bands),
        scene.info().sample.bytes() as u64,
    ]
    .into_iter()
    .fold(u64::from(tile_px), u64::saturating_mul);
    let limits = &cfg.limits;
    Limits::check(
        ctx,
        "one tile window in bytes",
        window_bytes,
        limits.max_window_bytes,
    )?;
    let per_tile = input_tensor_bytes(1, info.width, info.height)
        .saturating_add((info.output_floats_per_image as u64).saturating_mul(4))
        .saturating_add(window_bytes);
    let fits = (limits.max_batch_bytes / per_tile.max(1)) as usize;
    let batch = match info.fixed_batch {
        Some(fixed) => {
            Limits::check(
                || format!("{} with the model's fixed batch of {fixed}", ctx()),
                "batch bytes (Limits::max_batch_bytes)",
                per_tile.saturating_mul(fixed as u64),
                limits.max_batch_bytes,
            )?;
            fixed
        }
        None if fits == 0 => {
            return Err(Error::Limits {
                context: format!(
                    "{}: one {}x{} model input, its output and one {} px tile window",
                    ctx(),
                    info.width,
                    info.height,
                    tile_px
                ),
                what: "batch bytes (Limits::max_batch_bytes)",
                found: per_tile,
                limit: limits.max_batch_bytes,
            })
        }
        None if fits < cfg.batch => {
            warnings.push(format!(
                "batch lowered from {} to {fits} tiles: {} bytes per tile (model input, output and window) and Limits::max_batch_bytes = {}",
                cfg.batch, per_tile, limits.max_batch_bytes
            ));
            fits
        }
        None => cfg.batch,
    };
    let batch = match cfg.max_memory {
        Some(budget) => fit_memory(cfg, info, window_bytes, budget, batch, &mut warnings, ctx)?,
        None => batch,
    };
    if grid.len() > MANY_TILES {
        warnings.push(format!(
            "{}: {} tiles of {} px ({}x{} scene): a long run; a tile size near the model's {} px input needs fewer",
            ctx(),
            grid.len(),
            tile_px,
            scene.width(),
            scene.height(),
            info.width.min(info.height)
        ));
    }
    let (aoi, area) = match &cfg.aoi {
        Some(aoi) => {
            let area = aoi.on_scene(scene.georef(), scene.path())?;
            let tiles = grid.tiles_meeting(&area);
            if tiles.is_empty() {
                warnings.push(format!(
                    "{}: the area of interest {} does not meet the scene: no tile is read (the area, placed through the scene's georeferencing, lies outside it: check the area's CRS and the scene's georeferencing)",
                    ctx(),
                    aoi.name().display()
                ));
            }
            let plan = AoiPlan {
                tiles_outside: grid.len() - tiles.len(),
                tiles,
                area_km2: aoi.area_km2()?,
            };
            (Some(plan), Some(area))
        }
        None => (None, None),
    };
    let plan = Plan {
        grid,
        batch,
        batch_bytes: per_tile.saturating_mul(batch as u64),
        gsd,
        warnings,
        aoi,
        bands,
    };
    Ok((plan, area))
}

/// The bands fed to the model's red, green and blue inputs: those `asked` for (numbers
/// from 1, checked at build), else those the file names ([`Scene::rgb_bands`]),
/// else a single colour band as grey or the first three as red, green and blue, with a
/// warning when a fourth colour band leaves the order in doubt.
pub(crate) fn choose_bands(
    asked: Option<[u16; 3]>,
    scene: &Scene,
    warnings: &mut Vec<String>,
) -> Result<Bands> {
    let info = scene.info();
    let alpha = info.mask.alpha_band.map(|a| a + 1);
    if let Some(rgb) = asked {
        for b in rgb {
            if b > info.bands || Some(b) == alpha {
                let why = if Some(b) == alpha {
                    "its alpha band".to_string()
                } else {
                    format!("it has bands 1 to {}", info.bands)
                };
                return Err(Error::Config(format!(
                    "{}: band {b} cannot feed the model ({why}; bands are counted from 1)",
                    scene.path().display()
                )));
            }
        }
        return Ok(Bands {
            rgb,
            from: BandsFrom::Asked,
        });
    }
    if let Some(named) = scene.rgb_named() {
        let [r, g, b] = named.rgb;
        return Ok(Bands {
            rgb: [r + 1, g + 1, b + 1],
            from: match named.by {
                NamedBy::ColourInterp | NamedBy::ColourModel => BandsFrom::File,
                NamedBy::AuxXml => BandsFrom::AuxXml,
                NamedBy::Imd => BandsFrom::Imd,
            },
        });
    }
    let rgb = match info.color_bands() {
        1 => [1, 1, 1],
        3 => [1, 2, 3],
        4 => {
            warnings.push(format!(
                "{}: 4 colour bands and no colour interpretation in the file or beside it (GDAL .aux.xml, Maxar .IMD): bands 1, 2, 3 are fed as red, green and blue; if they are not (blue, green, red, near-infrared, as in WorldView deliveries), say which with --bands 3,2,1 (DetectorBuilder::bands)",
                scene.path().display()
            ));
            [1, 2, 3]
        }
        n => {
            return Err(Error::unsupported(
                scene.path(),
                format!(
                    "{n} colour bands and no colour interpretation: say which feed the model with --bands (DetectorBuilder::bands): three band numbers for red, green and blue, or one fed as grey"
                ),
            ))
        }
    };
    Ok(Bands {
        rgb,
        from: BandsFrom::Assumed,
    })
}

/// Side of a stretch-sampling window, in pixels.
const STRETCH_WINDOW_PX: u32 = 512;

/// The windows a 16-bit scene's percentile stretch samples: a 4 × 4 lattice over the
/// scene, or, with an area of interest, up to 16 of its `kept` tiles evenly spread along
/// their row-major order, a window at each one's centre (so nothing outside is read).
pub(crate) fn stretch_windows(w: u32, h: u32, kept: Option<(&TileGrid, &[usize])>) -> Vec<Window> {
    if let Some((grid, tiles)) = kept {
        let n = tiles.len();
        let m = n.min(16);
        return (0..m)
            .filter_map(|k| tiles.get((2 * k + 1) * n / (2 * m)))
            .filter_map(|&i| grid.tile(i))
            .map(|t| {
                let (tw, th) = (t.window.width, t.window.height);
                let (sw, sh) = (tw.min(STRETCH_WINDOW_PX), th.min(STRETCH_WINDOW_PX));
                Window::new(
                    t.window.x + (tw - sw) / 2,
                    t.window.y + (th - sh) / 2,
                    sw,
                    sh,
                )
            })
            .collect();
    }
    let (sw, sh) = (w.min(STRETCH_WINDOW_PX), h.min(STRETCH_WINDOW_PX));
    let mut out = Vec::with_capacity(16);
    for j in 0..4u32 {
        for i in 0..4u32 {
            let x = ((u64::from(w - sw) * u64::from(2 * i + 1)) / 8) as u32;
            let y = ((u64::from(h - sh) * u64::from(2 * j + 1)) / 8) as u32;
            out.push(Window::new(x, y, sw, sh));
        }
    }
    out
}

/// The tile side for `scene`: the explicit one, else the model's input side scaled by
/// model GSD / scene GSD (when both are known and matching is on), so that objects
/// reach the model at the GSD it was trained for.
fn tile_for(
    cfg: &Config,
    info: &ModelInfo,
    scene: &Scene,
    warnings: &mut Vec<String>,
) -> (u32, GsdMatch) {
    let model_side = info.width.min(info.height);
    let centre = crate::geo::PixelPoint {
        x: f64::from(scene.width()) / 2.0,
        y: f64::from(scene.height()) / 2.0,
    };
    let computed = scene
        .georef()
        .filter(|g| !matches!(g.crs, crate::geo::Crs::Unknown(_)))
        .map(|g| crate::geo::gsd_m(g, centre, 100.0));
    let scene_m = match (cfg.scene_gsd_m, computed) {
        (Some(g), _) => Some(g),
        (None, Some(Ok(g))) if g.is_finite() && g > 0.0 => Some(g),
        (None, Some(Ok(g))) => {
            warnings.push(format!(
                "{}: ground sample distance {g} m is not usable",
                scene.path().display()
            ));
            None
        }
        (None, Some(Err(e))) => {
            let fallback = scene.georef().and_then(crate::geo::gsd_from_pixel_size_m);
            match fallback {
                Some(g) => warnings.push(format!(
                    "{}: ground sample distance {g:.3} m taken from the pixel size, without the projection's scale factor: {e}",
                    scene.path().display()
                )),
                None => warnings.push(format!(
                    "{}: ground sample distance unknown: {e}",
                    scene.path().display()
                )),
            }
            fallback
        }
        (None, None) => None,
    };
    let model_m = info.gsd_m;
    let unmatched = |tile_px: u32| GsdMatch {
        scene_m,
        model_m,
        scale: f64::from(model_side) / f64::from(tile_px),
        matched: false,
    };
    if cfg.tile_explicit || !cfg.match_gsd {
        return (cfg.tile_px, unmatched(cfg.tile_px));
    }
    let (Some(s), Some(range)) = (scene_m, model_m) else {
        if model_m.is_some() {
            warnings.push(format!(
                "{}: the scene's ground sample distance is unknown (no usable georeferencing), so tiles are not resampled to the model's {}; give it with --gsd / DetectorBuilder::scene_gsd",
                scene.path().display(),
                model_m.map(|m| m.to_string()).unwrap_or_default()
            ));
        }
        return (cfg.tile_px, unmatched(cfg.tile_px));
    };
    let mut want = f64::from(model_side) * range.nearest(s) / s;
    // A scene just outside the model's range (e.g. 0.2998 m against 0.3-0.5 m, a
    // projection's scale factor) is fed as it is: resampling by a fraction of a percent
    // changes nothing the model can see and costs the bilinear path.
    if (want / f64::from(model_side) - 1.0).abs() <= GSD_TOLERANCE {
        want = f64::from(model_side);
    }
    // The largest tile whose raw window fits Limits::max_window_bytes.
    let px_bytes = (u64::from(scene.info().bands) * scene.info().sample.bytes() as u64).max(1);
    let fits = ((cfg.limits.max_window_bytes / px_bytes) as f64)
        .sqrt()
        .floor();
    let max_px = fits.clamp(f64::from(MIN_TILE_PX), f64::from(MAX_TILE_PX));
    let tile_px = want.round().clamp(f64::from(MIN_TILE_PX), max_px) as u32;
    if f64::from(tile_px) != want.round() {
        warnings.push(format!(
            "{}: matching the scene's {s:.3} m GSD to the model's {range} needs {want:.0} px tiles; using {tile_px} px, the nearest allowed (by tile size and Limits::max_window_bytes), so objects reach the model at {:.3} m instead; --no-gsd-match (DetectorBuilder::match_gsd(false)) feeds tiles unscaled",
            scene.path().display(),
            s * f64::from(tile_px) / f64::from(model_side)
        ));
    }
    warnings.extend(resampling_warning(
        tile_px,
        model_side,
        &format!("the scene's {s:.3} m GSD is far from the model's {range}"),
    ));
    (
        tile_px,
        GsdMatch {
            scene_m,
            model_m,
            scale: f64::from(model_side) / f64::from(tile_px),
            matched: true,
        },
    )
}

/// The batch that keeps a run within `budget` bytes ([`crate::DetectorBuilder::max_memory`]):
/// [`Limits::BASE_BYTES`], the chunk cache and the detections first, then per tile three
/// raw windows, two input tensors, the output and onnxruntime's working memory.
fn fit_memory(
    cfg: &Config,
    info: &ModelInfo,
    window_bytes: u64,
    budget: u64,
    batch: usize,
    warnings: &mut Vec<String>,
    ctx: impl Fn() -> String,
) -> Result<usize> {
    let l = &cfg.limits;
    let input = input_tensor_bytes(1, info.width, info.height);
    let per_tile = window_bytes
        .saturating_mul(3)
        .saturating_add(input.saturating_mul(2 + Limits::ACTIVATION_FACTOR))
        .saturating_add((info.output_floats_per_image as u64).saturating_mul(4));
    let fixed = Limits::BASE_BYTES
        .saturating_add(l.chunk_cache_bytes)
        .saturating_add(l.max_detection_bytes);
    let fits = (budget.saturating_sub(fixed) / per_tile.max(1)) as usize;
    let mib = |b: u64| b.div_ceil(1 << 20);
    // The fewest tiles a batch can hold: the model's fixed batch, or one.
    let least = info.fixed_batch.unwrap_or(1);
    if fits < least {
        return Err(Error::Limits {
            context: format!(
                "{}: the program and onnxruntime ({} MiB), the chunk cache ({} MiB), the detections ({} MiB) and {} tile(s) of {} MiB (windows, tensors and onnxruntime's working memory); at least {} MiB is needed",
                ctx(),
                mib(Limits::BASE_BYTES),
                mib(l.chunk_cache_bytes),
                mib(l.max_detection_bytes),
                least,
                mib(per_tile),
                mib(fixed + per_tile * least as u64)
            ),
            what: "the memory budget (--max-memory, DetectorBuilder::max_memory)",
            found: fixed.saturating_add(per_tile),
            limit: budget,
        });
    }
    if fits < batch {
        warnings.push(format!(
            "batch lowered from {batch} to {fits} tiles to stay within the memory budget of {} MiB ({} MiB per tile in flight)",
            mib(budget),
            mib(per_tile)
        ));
        return Ok(fits);
    }
    Ok(batch)
}
