//! Inference with onnxruntime through `ort` (loaded at run time): finding the library,
//! loading a model and checking its contract, running batches, decoding the outputs.

mod decode;
mod model;
mod session;

pub use decode::{decode_batch, detect_layout, keep_best, Layout, RawBox};
pub use model::{
    input_tensor_bytes, parse_class_names, Device, GsdRange, Metadata, Model, ModelInfo, MAX_BATCH,
    MAX_INPUT_SIDE,
};
pub use session::{find_onnxruntime, onnxruntime_candidates, INSTALL_HINT};
