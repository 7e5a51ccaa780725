//! The crate's one error type.
//!
//! Variants are split by whose fault the problem is (bad file, misuse, a limit, a missing
//! runtime) and carry what a user needs to act: the path, the tag, the expected and found
//! values. Errors of other crates appear only as [`std::error::Error::source`].

use std::path::PathBuf;

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in satdet.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading a file failed at the operating-system level.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// Reading a scene from object storage or an HTTP server failed: the object is not
    /// there (404), access was refused (401/403), the store could not be configured
    /// (no bucket, a malformed URL), or a transient fault (a 5xx answer, a dropped
    /// connection) outlasted the retries.
    #[error("{url}: {detail}")]
    Remote {
        /// The scene's URL.
        url: String,
        /// What failed (the request, the byte range), and after how many tries.
        detail: String,
        /// The object store's own error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// The raster file is malformed or truncated.
    #[error("{path}: corrupt or unreadable raster: {detail}")]
    CorruptRaster {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
        /// The decoder's own error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// The raster is valid but uses something satdet does not read.
    #[error("{path}: unsupported raster: {detail}")]
    UnsupportedRaster {
        /// The file.
        path: PathBuf,
        /// What is unsupported, and what is.
        detail: String,
    },

    /// The georeferencing tags (or world file) are inconsistent or unusable.
    #[error("{path}: bad georeferencing: {detail}")]
    Georef {
        /// The raster (or world file).
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },

    /// A coordinate transformation failed.
    #[error("cannot reproject from {crs} to WGS84: {detail}")]
    Reproject {
        /// The source CRS, e.g. `EPSG:32633`.
        crs: String,
        /// What failed.
        detail: String,
    },

    /// An area of interest is unusable: not GeoJSON or KML, no polygon or line in it, a
    /// point, an invalid (e.g. self-intersecting) polygon, a CRS satdet cannot reproject,
    /// a line without a buffer, or an area that cannot be placed on a scene.
    #[error("{path}: bad area of interest{}: {detail}", feature_label(.feature))]
    Aoi {
        /// The area-of-interest file (or the name given to in-memory text).
        path: PathBuf,
        /// The feature at fault (0-based: GeoJSON `features` index, KML `Placemark`
        /// index), when one is.
        feature: Option<usize>,
        /// What was wrong, and what would do.
        detail: String,
    },

    /// A size or count exceeded the configured [`crate::Limits`].
    #[error("{context}: {what} is {found}, above the limit of {limit} (raise it with `Limits`)")]
    Limits {
        /// The file or stage.
        context: String,
        /// Which quantity.
        what: &'static str,
        /// The value found.
        found: u64,
        /// The configured limit.
        limit: u64,
    },

    /// The caller passed an invalid option or argument.
    #[error("invalid configuration: {0}")]
    Config(String),

    /// onnxruntime could not be found or loaded.
    #[error("onnxruntime could not be loaded.\n{tried}\nInstall it with:\n    {install_hint}")]
    RuntimeMissing {
        /// Every place that was tried, one a line, with why it failed.
        tried: String,
        /// A command that installs it.
        install_hint: &'static str,
    },

    /// The ONNX model does not look like a detector satdet can run.
    #[error("{path}: not a usable detector model: {detail}")]
    Model {
        /// The model file.
        path: PathBuf,
        /// What did not match.
        detail: String,
    },

    /// An execution provider that was asked for could not be registered.
    #[error("execution provider {provider} was requested but cannot be used: {detail}")]
    ExecutionProvider {
        /// e.g. `CUDA`.
        provider: &'static str,
        /// Why.
        detail: String,
    },

    /// onnxruntime failed while loading or running the model.
    #[error("onnxruntime: {context}")]
    Inference {
        /// What satdet was doing.
        context: String,
        /// The onnxruntime error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The GPU (wgpu) failed or is unavailable.
    #[error("GPU preprocessing: {0}")]
    Gpu(String),

    /// The caller's callback asked to stop ([`std::ops::ControlFlow::Break`]); every
    /// thread was joined and nothing is left running.
    #[error("cancelled")]
    Cancelled,

    /// A fault inside satdet (a worker thread panicked, a lock was poisoned by an earlier
    /// panic): not the input's fault; please report it.
    #[error("internal error: {0}")]
    Internal(String),

    /// A file read as satdet results (detections, sites or a change) is not one: a
    /// missing column, a value that is not a number, a geometry that is not a polygon,
    /// a truncated or corrupt file, another kind of result.
    #[error("{path}: not a readable satdet results file: {detail}")]
    ResultsFile {
        /// The file.
        path: PathBuf,
        /// What was missing or wrong, and where (feature index, column).
        detail: String,
    },

    /// A run's journal or a shard's tile file is unreadable, or belongs to another job.
    #[error("{path}: not a usable journal or shard file: {detail}")]
    Journal {
        /// The journal or shard file.
        path: PathBuf,
        /// What is wrong, and what to do.
        detail: String,
    },

    /// Writing results failed.
    #[error("{path}: cannot write output: {detail}")]
    Output {
        /// The output file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
        /// The operating system's error, when there is one.
        #[source]
        source: Option<std::io::Error>,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, detail: impl Into<String>) -> Self {
        Error::CorruptRaster {
            path: path.into(),
            detail: detail.into(),
            source: None,
        }
    }

    pub(crate) fn unsupported(path: impl Into<PathBuf>, detail: impl Into<String>) -> Self {
        Error::UnsupportedRaster {
            path: path.into(),
            detail: detail.into(),
        }
    }

    pub(crate) fn model(path: impl Into<PathBuf>, detail: impl Into<String>) -> Self {
        Error::Model {
            path: path.into(),
            detail: detail.into(),
        }
    }

    /// Fills in the model path of a [`Error::Model`] raised where the path was not known
    /// (decoding works on bare tensors).
    pub(crate) fn with_model_path(self, model: &std::path::Path) -> Self {
        match self {
            Error::Model { path, detail } if path.as_os_str().is_empty() => Error::Model {
                path: model.to_path_buf(),
                detail,
            },
            e => e,
        }
    }

    pub(crate) fn inference(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Inference {
            context: context.into(),
            source: Box::new(source),
        }
    }
}

fn feature_label(feature: &Option<usize>) -> String {
    feature
        .map(|i| format!(" (feature {i})"))
        .unwrap_or_default()
}

/// Characters of input text an error or warning quotes (see [`snippet`]).
const SNIPPET_CHARS: usize = 80;

/// Input text (a world-file token, a `.prj`, a TIFF ASCII tag, a decoder's message that may
/// echo file content) cut to a short prefix for an error or warning, so that a 50 MB token
/// is never a 50 MB message. Cuts on a char boundary and says how long the text was.
pub(crate) fn snippet(s: &str) -> String {
    bounded(s, SNIPPET_CHARS)
}

/// [`snippet`] with an explicit length in chars, for longer texts such as a decoder's error
/// message (which carries more than one quoted value).
pub(crate) fn bounded(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        None => s.to_owned(),
        Some((cut, _)) => format!("{}… ({} bytes)", &s[..cut], s.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::snippet;

    #[test]
    fn snippet_keeps_short_text_and_cuts_long_text_on_a_char_boundary() {
        assert_eq!(snippet("12.5x"), "12.5x");
        let exactly = "a".repeat(80);
        assert_eq!(snippet(&exactly), exactly);
        let huge = "9".repeat(50 << 20);
        let s = snippet(&huge);
        assert!(s.len() < 120, "{}", s.len());
        assert!(s.ends_with(&format!("… ({} bytes)", 50 << 20)), "{s}");
        // Multi-byte characters are never split.
        let wide = "é".repeat(200);
        let s = snippet(&wide);
        assert!(
            s.starts_with(&"é".repeat(80)) && s.ends_with("(400 bytes)"),
            "{s}"
        );
    }
}
