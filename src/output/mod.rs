//! Writers for detections: GeoJSON, and a PNG/JPEG quick-look. The result types stay
//! plain data; formatting and drawing live here. Every file is written atomically
//! ([`write_atomic`]) and never over an input ([`check_outputs`]).

mod atomic;
pub mod geojson;
pub mod quicklook;
pub mod report;

pub(crate) use atomic::check_result_output;
pub use atomic::{check_outputs, scene_files, write_atomic};
