//! Writers for detections: GeoJSON, and a PNG quick-look. The result types stay plain
//! data; formatting and drawing live here.

pub mod geojson;
pub mod quicklook;
