//! Is a JPEG file complete? The `image` crate's JPEG decoder fills the missing part of a
//! truncated file with grey and reports success, so a download cut at 5 % would yield
//! pixels (and detections). This walks the marker structure, streaming, without decoding:
//! the file is complete when an end-of-image marker follows the last scan.

use std::io::{BufReader, Read};

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;

struct Bytes<R> {
    r: BufReader<R>,
    read: u64,
}

impl<R: Read> Bytes<R> {
    fn next(&mut self) -> Result<u8, String> {
        let mut b = [0u8; 1];
        match self.r.read(&mut b) {
            Ok(1) => {
                self.read += 1;
                Ok(b[0])
            }
            Ok(_) => Err(format!(
                "the data ends after {} bytes without an end-of-image marker (truncated)",
                self.read
            )),
            Err(e) => Err(format!("reading byte {}: {e}", self.read)),
        }
    }
    fn skip(&mut self, n: u64) -> Result<(), String> {
        let skipped = std::io::copy(&mut (&mut self.r).take(n), &mut std::io::sink())
            .map_err(|e| format!("reading byte {}: {e}", self.read))?;
        self.read += skipped;
        if skipped < n {
            return Err(format!(
                "the data ends after {} bytes, inside a segment (truncated)",
                self.read
            ));
        }
        Ok(())
    }
}

/// `Ok` when the JPEG stream in `r` runs to an end-of-image marker; otherwise why not.
pub(super) fn check_complete<R: Read>(r: R) -> Result<(), String> {
    let mut b = Bytes {
        r: BufReader::new(r),
        read: 0,
    };
    if (b.next()?, b.next()?) != (0xFF, SOI) {
        return Err("no start-of-image marker".into());
    }
    // The marker that ended the previous scan's entropy-coded data, if any.
    let mut pending: Option<u8> = None;
    loop {
        let marker = match pending.take() {
            Some(m) => m,
            None => {
                if b.next()? != 0xFF {
                    return Err(format!("no marker at byte {}", b.read - 1));
                }
                let mut m = b.next()?;
                while m == 0xFF {
                    m = b.next()?; // fill bytes
                }
                m
            }
        };
        match marker {
            EOI => return Ok(()),
            0x01 | 0xD0..=0xD7 => continue, // no length
            _ => {}
        }
        let len = u16::from_be_bytes([b.next()?, b.next()?]);
        if len < 2 {
            return Err(format!("segment length {len} at byte {}", b.read - 2));
        }
        b.skip(u64::from(len) - 2)?;
        if marker == SOS {
            pending = Some(scan_entropy_coded(&mut b)?);
        }
    }
}

/// Reads a scan's entropy-coded data up to the next marker (not a stuffed 0xFF00 or a
/// restart marker) and returns that marker.
fn scan_entropy_coded<R: Read>(b: &mut Bytes<R>) -> Result<u8, String> {
    loop {
        if b.next()? != 0xFF {
            continue;
        }
        let mut m = b.next()?;
        while m == 0xFF {
            m = b.next()?;
        }
        match m {
            0x00 | 0xD0..=0xD7 => {}
            m => return Ok(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_complete;

    #[test]
    fn complete_and_truncated_streams() {
        // SOI, a 4-byte APP0, SOS with a 3-byte header, data with a stuffed FF00 and a
        // restart marker, EOI.
        let ok: &[u8] = &[
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 1, 2, 0xFF, 0xDA, 0x00, 0x03, 0, 0x12, 0xFF, 0x00,
            0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xD9,
        ];
        assert_eq!(check_complete(ok), Ok(()));
        for cut in 0..ok.len() {
            let e = check_complete(&ok[..cut]).unwrap_err();
            assert!(!e.is_empty(), "cut at {cut}");
        }
        // An end-of-image byte pair inside a segment (an EXIF thumbnail) does not count.
        let thumb: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x04, 0xFF, 0xD9, 0xFF, 0xDA];
        assert!(check_complete(thumb).is_err());
    }
}
