//! The preprocessing stage alone, with `ndarray`: raw windows in, an `(N, C, H, W)` batch
//! out, on whichever backend.

use super::{InputSpec, Preprocessor};
use crate::error::{Error, Result};
use crate::raster::TileBuf;
use ndarray::Array4;

/// Preprocesses `tiles` with `pre` into a new `(N, 3, height, width)` `f32` array (NCHW,
/// as models take it). `scale` is model-input pixels per scene pixel.
///
/// ```
/// use satdet::preprocess::{to_array4, CpuPreprocessor, InputSpec, Scaling};
/// use satdet::raster::{MaskSpec, TileBuf, Window};
/// # fn main() -> satdet::Result<()> {
/// # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/generated/utm_rgb_tiled_lzw.tif");
/// let scene = satdet::Scene::open(path)?;
/// let mut tile = TileBuf::new();
/// scene.read_window(Window::new(0, 0, 64, 64), &mut tile)?;
/// let spec = InputSpec {
///     width: 64, height: 64, channels: [0, 1, 2], scaling: Scaling::u8(),
///     mean: [0.0; 3], inv_std: [1.0; 3], pad: 114.0 / 255.0, mask: scene.info().mask,
/// };
/// let batch = to_array4(&mut CpuPreprocessor::new(), &spec, &[&tile], 1.0)?;
/// assert_eq!(batch.shape(), &[1, 3, 64, 64]);
/// # Ok(())
/// # }
/// ```
pub fn to_array4(
    pre: &mut dyn Preprocessor,
    spec: &InputSpec,
    tiles: &[&TileBuf],
    scale: f32,
) -> Result<Array4<f32>> {
    let (h, w) = (spec.height as usize, spec.width as usize);
    let len = tiles
        .len()
        .checked_mul(spec.input_len())
        .ok_or_else(|| Error::Config("batch size overflows".into()))?;
    let mut out = vec![0.0f32; len];
    pre.run(spec, tiles, scale, &mut out)?;
    Array4::from_shape_vec((tiles.len(), 3, h, w), out)
        .map_err(|e| Error::Internal(format!("NCHW batch shape: {e}")))
}
