//! Raster formats satdet does not read, told from their first bytes, so that the error
//! can name the format and its conversion instead of "unrecognised".

/// The name of a raster format satdet does not read but a user may well hold (satellite
/// deliveries, GDAL's own formats), from the first bytes of the file.
pub(crate) fn other_format(first: &[u8]) -> Option<&'static str> {
    let starts = |m: &[u8]| first.starts_with(m);
    let text = String::from_utf8_lossy(&first[..first.len().min(512)]);
    Some(if starts(b"\0\0\0\x0cjP  \r\n\x87\n") {
        "a JPEG 2000 file (JP2, as Pleiades, SPOT and many deliveries come)"
    } else if starts(b"\xff\x4f\xff\x51") {
        "a JPEG 2000 codestream (J2K)"
    } else if starts(b"NITF") || starts(b"NSIF") {
        "an NITF file (as some WorldView deliveries come)"
    } else if starts(b"\x89HDF\r\n\x1a\n") {
        "an HDF5 file"
    } else if starts(b"\x0e\x03\x13\x01") {
        "an HDF4 file"
    } else if starts(b"EHFA_HEADER_TAG") {
        "an ERDAS Imagine (.img) file"
    } else if text.trim_start().starts_with("<VRTDataset") {
        "a GDAL virtual raster (VRT)"
    } else if text.starts_with("ENVI") {
        "an ENVI header (the pixels are in the file beside it)"
    } else if starts(b"GIF8") {
        "a GIF image"
    } else if starts(b"BM") && first.get(6..10) == Some(&[0, 0, 0, 0]) {
        "a BMP image"
    } else if starts(b"RIFF") && first.get(8..12) == Some(b"WEBP") {
        "a WebP image"
    } else {
        return None;
    })
}
