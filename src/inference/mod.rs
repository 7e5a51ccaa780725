//! Inference with onnxruntime through `ort` (loaded at run time): finding the library,
//! loading a model and checking its contract, running batches, decoding the outputs.

mod decode;
mod model;
mod session;

pub use decode::{decode_batch, detect_layout, Layout, RawBox};
pub use model::{parse_class_names, Device, Model, ModelInfo};
pub use session::{find_onnxruntime, onnxruntime_candidates, INSTALL_HINT};
