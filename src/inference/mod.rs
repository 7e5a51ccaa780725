//! Inference with onnxruntime through `ort` (loaded at run time): finding the library,
//! loading a model and checking its contract, running batches, decoding the outputs.

mod decode;
mod layout;
mod model;
mod provider;
mod session;

pub use decode::{decode_batch, RawBox};
pub use layout::{detect_layout, Layout, LayoutHints, LayoutKind};
pub use model::{
    default_threads, Device, GsdRange, LoadOptions, Metadata, Model, ModelInfo, MAX_BATCH,
    MAX_INPUT_SIDE,
};
pub use provider::tensorrt_cache_dir;
pub use session::{find_onnxruntime, INSTALL_HINT};

// Internal helpers: the pipeline's, not part of the public surface.
pub(crate) use decode::keep_best;
pub(crate) use model::input_tensor_bytes;
