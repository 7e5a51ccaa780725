//! # satdet
//!
//! Find vehicles, trucks and excavators in very large georeferenced satellite rasters.
//!
//! One pipeline, each stage a module with plain inputs and outputs:
//!
//! ```text
//! Scene ─► TileGrid ─► read window ─► Preprocessor ─► Model ─► decode ─► merge ─► georeference ─► Detections ─► output
//! ```
//!
//! - [`Scene`] opens a GeoTIFF (or PNG/JPEG with a world file), reading the header and
//!   georeferencing only; windows are read on demand ([`raster`]). Scenes can also come
//!   from memory ([`Scene::from_array`], [`Scene::from_image`]) or from a reader of your
//!   own ([`raster::WindowSource`], [`Scene::from_source`]).
//! - [`tiling::TileGrid`] cuts the scene into overlapping tiles.
//! - A [`preprocess::Preprocessor`] turns raw windows into the model's NCHW input.
//! - [`inference::Model`] runs an ONNX detector through onnxruntime, loaded at run time.
//! - [`postprocess`] removes duplicates within tiles and across seams.
//! - [`geo`] maps boxes to the scene CRS and WGS84.
//! - [`output`] writes the result (GeoJSON, KML/KMZ, CSV, GeoPackage, FlatGeobuf, from
//!   the extension: [`output::write_detections`]), reads it back, and writes an HTML
//!   report ([`output::report`]).
//! - [`job`] makes many scenes one job (overlaps merged across scenes and CRSs), keeps
//!   the journal that lets a killed run resume, and cuts a job into shards
//!   ([`Detector::detect_tiles`] runs part of a plan).
//! - [`analysis`] groups detections into sites and compares two dates; a
//!   [`geo::Aoi`] limits a run to an area of interest.
//!
//! [`Detector`] runs all of it, reading, preprocessing and inference overlapping:
//!
//! ```no_run
//! use satdet::{Detector, Preprocess, Scene};
//!
//! # fn main() -> satdet::Result<()> {
//! let scene = Scene::open("yalu_2025-09-13.tif")?; // header + georeferencing only
//! let detector = Detector::builder()               // default: the bundled model, embedded
//!     .preprocess(Preprocess::Cpu)
//!     .overlap(0.2)
//!     .confidence(0.3)
//!     .build()?;
//! let detections = detector.detect(&scene)?;      // streams the scene window by window
//! for d in &detections {
//!     println!("{} {:.2} {:?}", d.class_name, d.score, d.lonlat_center());
//! }
//! satdet::output::write_detections("out.gpkg", &detections)?; // or .geojson, .kml, .csv…
//! let sites = satdet::analysis::sites(&detections, 50.0, 3)?;   // clusters, in metres
//! # Ok(())
//! # }
//! ```
//!
//! Every stage can be used alone; for example reading a window of a scene:
//!
//! ```
//! use satdet::raster::{TileBuf, Window};
//! # fn main() -> satdet::Result<()> {
//! # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/generated/utm_rgb_tiled_lzw.tif");
//! let scene = satdet::Scene::open(path)?;
//! let mut buf = TileBuf::new();
//! scene.read_window(Window::new(0, 0, 64, 32), &mut buf)?;
//! assert_eq!(buf.window().width, 64);
//! assert_eq!(scene.georef().map(|g| g.crs.to_string()).as_deref(), Some("EPSG:32633"));
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod error;
mod limits;

pub mod analysis;
pub mod detection;
pub mod geo;
pub mod inference;
pub mod job;
pub mod output;
pub mod pipeline;
pub mod postprocess;
pub mod preprocess;
pub mod raster;
pub mod tiling;

pub use detection::{Bands, BandsFrom, Detection, Detections, GsdMatch, Progress, Report};
pub use error::{Error, Result};
pub use geo::{Aoi, Crs, GeoRef, GeoTransform, LonLat, OrientedBox, PixelBox};
pub use inference::Device;
pub use limits::Limits;
pub use pipeline::{Detector, DetectorBuilder, Event, Plan};
pub use preprocess::Preprocess;
pub use raster::{Scene, WindowSource};
