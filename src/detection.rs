//! Plain result types.

use crate::geo::{Crs, LonLat, OrientedBox, PixelBox, PixelPoint};
use crate::raster::Scaling;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// One detected object.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Class index in the model.
    pub class_id: u32,
    /// Class name from the model's metadata.
    pub class_name: Arc<str>,
    /// Confidence in [0, 1].
    pub score: f32,
    /// Box in scene pixels (continuous; (0, 0) is the top-left corner of the scene). For
    /// an oriented detection, the axis-aligned envelope of its footprint within the tile
    /// that found it.
    pub pixel_box: PixelBox,
    /// The rotated footprint in scene pixels, from an oriented-box model (YOLO-OBB);
    /// `None` for an axis-aligned detection. [`Detection::pixel_polygon`] gives the
    /// footprint either way.
    #[cfg_attr(feature = "serde", serde(default))]
    pub oriented: Option<OrientedBox>,
    /// The footprint's corners in the scene CRS ([`Detection::pixel_polygon`]'s corners,
    /// in that order); a rotated raster rotates them further. `None` without
    /// georeferencing. Read back from a file ([`crate::output::read_detections`]), it is
    /// the map bounding rectangle the file stores.
    pub map_polygon: Option<[[f64; 2]; 4]>,
    /// The corners in WGS84 `[lon, lat]` degrees. `None` without a usable CRS.
    pub lonlat_polygon: Option<[[f64; 2]; 4]>,
}

impl Detection {
    /// The footprint's corners in scene pixels: the oriented box's (its own TL, TR, BR,
    /// BL), or the pixel box's (TL, TR, BR, BL).
    pub fn pixel_polygon(&self) -> [PixelPoint; 4] {
        match &self.oriented {
            Some(o) => o.corners(),
            None => self.pixel_box.corners(),
        }
    }

    /// The centre in scene pixels: the oriented box's, else the pixel box's.
    pub fn pixel_center(&self) -> PixelPoint {
        match &self.oriented {
            Some(o) => o.center(),
            None => self.pixel_box.center(),
        }
    }

    /// The oriented box's angle in degrees in [0, 180), clockwise on screen from the
    /// scene's +x (column) axis; `None` for an axis-aligned detection.
    pub fn angle_deg(&self) -> Option<f64> {
        self.oriented.map(|o| o.angle_deg())
    }

    /// The centre in WGS84, the mean of the corners.
    pub fn lonlat_center(&self) -> Option<LonLat> {
        let p = self.lonlat_polygon?;
        Some(LonLat {
            lon: p.iter().map(|c| c[0]).sum::<f64>() / 4.0,
            lat: p.iter().map(|c| c[1]).sum::<f64>() / 4.0,
        })
    }
}

/// Busy time of each stage (the stages overlap, so they add up to more than `total`).
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageTimes {
    /// Percentile stretch sampling (16-bit scenes).
    pub stretch: Duration,
    /// Reading windows.
    pub read: Duration,
    /// Preprocessing.
    pub preprocess: Duration,
    /// Model inference.
    pub inference: Duration,
    /// Decoding, NMS, merging and georeferencing.
    pub postprocess: Duration,
    /// Wall time of the whole detect call.
    pub total: Duration,
}

/// How tiles are scaled to the model's ground sample distance.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GsdMatch {
    /// The scene's GSD in metres per pixel (given, or computed at the scene centre from
    /// its georeferencing), when known.
    pub scene_m: Option<f64>,
    /// The model's training GSD (its `gsd_m` metadata), when it states one.
    pub model_m: Option<crate::inference::GsdRange>,
    /// Model-input pixels per scene pixel: above 1 tiles are enlarged, below 1 reduced.
    pub scale: f64,
    /// Whether the tile size was chosen from the two GSDs (else it is the model's input
    /// side or an explicit tile size).
    pub matched: bool,
}

/// Which scene bands feed the model's red, green and blue inputs, and why
/// ([`crate::DetectorBuilder::bands`], [`crate::Scene::rgb_bands`]).
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bands {
    /// Band numbers, counted from 1 as GDAL counts them, fed to the model's red, green and
    /// blue inputs; one band repeated three times for a single band fed as grey.
    pub rgb: [u16; 3],
    /// Why these bands.
    pub from: BandsFrom,
}

/// Why a run fed the bands it did ([`Bands::from`]).
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandsFrom {
    /// Asked for ([`crate::DetectorBuilder::bands`], the CLI's `--bands`).
    Asked,
    /// The file's colour interpretation or colour model ([`crate::Scene::rgb_bands`]).
    File,
    /// The colour interpretation in GDAL's `.aux.xml` beside the file (PAM), which GDAL
    /// lets override the file's.
    AuxXml,
    /// The band list of the Maxar `.IMD` (or its `.XML` twin) beside the file: a
    /// WorldView, GeoEye or QuickBird delivery, whose GeoTIFF seldom names its bands.
    Imd,
    /// Assumed from the band count: one band as grey, else the first three as red, green
    /// and blue (a scene whose file does not say what its bands are).
    Assumed,
}

impl BandsFrom {
    /// `asked`, `file`, `aux.xml`, `imd` or `assumed` (the `bands_from` metadata of
    /// written detections).
    pub fn as_str(self) -> &'static str {
        match self {
            BandsFrom::Asked => "asked",
            BandsFrom::File => "file",
            BandsFrom::AuxXml => "aux.xml",
            BandsFrom::Imd => "imd",
            BandsFrom::Assumed => "assumed",
        }
    }

    /// The inverse of [`BandsFrom::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "asked" => BandsFrom::Asked,
            "file" => BandsFrom::File,
            "aux.xml" => BandsFrom::AuxXml,
            "imd" => BandsFrom::Imd,
            "assumed" => BandsFrom::Assumed,
            _ => return None,
        })
    }
}

impl Default for Bands {
    /// Bands 1, 2, 3 as red, green and blue, assumed.
    fn default() -> Self {
        Bands {
            rgb: [1, 2, 3],
            from: BandsFrom::Assumed,
        }
    }
}

impl std::fmt::Display for Bands {
    /// `3,2,1 as R,G,B (the file's colour interpretation)`, or `1 as grey (...)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [r, g, b] = self.rgb;
        let grey = r == g && g == b;
        let why = match self.from {
            BandsFrom::Asked => "asked for",
            BandsFrom::File => "the file's colour interpretation",
            BandsFrom::AuxXml => "the colour interpretation in the .aux.xml",
            BandsFrom::Imd => "the band list of the Maxar .IMD",
            // Only a scene of one colour band is assumed grey.
            BandsFrom::Assumed if grey => "the only colour band",
            BandsFrom::Assumed => "assumed: the file does not say",
        };
        if grey {
            write!(f, "{r} as grey ({why})")
        } else {
            write!(f, "{r},{g},{b} as R,G,B ({why})")
        }
    }
}

/// What a detect call did.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// Tiles in the grid.
    pub tiles_total: usize,
    /// Tiles sent to the model.
    pub tiles_processed: usize,
    /// Tiles skipped because every pixel was masked (nodata or alpha 0).
    pub tiles_skipped: usize,
    /// Of `tiles_processed + tiles_skipped`, those done by an earlier run and not read
    /// again (a resumed run's journal, other shards; [`crate::Detector::detect_tiles`]).
    pub tiles_resumed: usize,
    /// Tiles never read because their window does not meet the area of interest
    /// ([`crate::DetectorBuilder::aoi`]); 0 without one. `tiles_total` is
    /// `tiles_processed + tiles_skipped + tiles_outside_aoi`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub tiles_outside_aoi: usize,
    /// Detections dropped because their box centre lies outside the area of interest.
    #[cfg_attr(feature = "serde", serde(default))]
    pub detections_outside_aoi: usize,
    /// The area of interest searched, buffer included, in km²; `None` without one.
    #[cfg_attr(feature = "serde", serde(default))]
    pub aoi_area_km2: Option<f64>,
    /// Tile side in scene pixels.
    pub tile_px: u32,
    /// Overlap between tiles in scene pixels.
    pub overlap_px: u32,
    /// The scene's and the model's ground sample distances and the resampling used.
    pub gsd: GsdMatch,
    /// The preprocessing backend that ran (e.g. `cpu`).
    pub preprocess: String,
    /// The onnxruntime execution provider that ran.
    pub provider: String,
    /// The onnxruntime library used.
    pub runtime: PathBuf,
    /// The model file that ran.
    pub model: PathBuf,
    /// Candidate boxes dropped by the per-tile cap ([`crate::Limits::max_candidates_per_tile`])
    /// before NMS; non-zero means the model fired on more boxes than the cap in some tile
    /// (a warning says how many tiles).
    pub candidates_capped: u64,
    /// The sample scaling used.
    pub scaling: Scaling,
    /// The scene bands fed to the model's red, green and blue inputs (for a job's many
    /// scenes merged into one result, the first scene's, as its scaling and GSD are).
    #[cfg_attr(feature = "serde", serde(default))]
    pub bands: Bands,
    /// The confidence threshold applied.
    pub confidence: f32,
    /// The IoU above which boxes of one class were duplicates (NMS).
    pub iou: f32,
    /// Ground area of the scene in km², when known.
    pub area_km2: Option<f64>,
    /// Stage timings.
    pub times: StageTimes,
    /// Things the user should know (no georeferencing, CRS not reprojectable, ignored
    /// model metadata, extreme resampling…), each once: the scene's, the model's and the
    /// run's own.
    pub warnings: Vec<String>,
}

/// The detections of one scene, with the scene's metadata and a report of the run.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, PartialEq)]
pub struct Detections {
    /// The detections, best score first.
    pub items: Vec<Detection>,
    /// The scene file.
    pub scene: PathBuf,
    /// The scene's CRS, when georeferenced.
    pub crs: Option<Crs>,
    /// When the scene was acquired: an ISO 8601 date (`YYYY-MM-DD`) or date and time
    /// (`YYYY-MM-DDTHH:MM:SS`), from the scene (TIFF `DateTime`) or given by the user.
    pub acquired: Option<String>,
    /// What the run did.
    pub report: Report,
}

impl std::ops::Deref for Detections {
    type Target = [Detection];
    fn deref(&self) -> &[Detection] {
        &self.items
    }
}

impl<'a> IntoIterator for &'a Detections {
    type Item = &'a Detection;
    type IntoIter = std::slice::Iter<'a, Detection>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

/// Progress of a detect call, passed to the builder's progress callback.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Tiles finished (processed or skipped).
    pub tiles_done: usize,
    /// Tiles skipped so far.
    pub tiles_skipped: usize,
    /// Tiles to read: the grid's, less those outside the area of interest (which are
    /// never read, and counted in [`Report::tiles_outside_aoi`]).
    pub tiles_total: usize,
    /// Candidate detections so far (before the final merge).
    pub candidates: usize,
}
