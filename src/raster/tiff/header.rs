//! A first look at a TIFF's first directory, before the `tiff` crate reads it.
//!
//! `tiff::decoder::Decoder::new` reads the strip/tile offset and byte-count arrays (and the
//! other tags of an image) while opening, under its own default limits (up to 256 MiB of
//! values a tag), before satdet can set any. So the entry counts are checked here first:
//! the chunk arrays against [`Limits`], every tag that is read against the file's length
//! (values cannot lie past its end) and a fixed bound.

use crate::error::{Error, Result};
use crate::limits::Limits;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Tags the `tiff` decoder reads while opening, or satdet reads after.
const READ_TAGS: &[u16] = &[
    256, 257, 258, 259, 262, 273, 277, 278, 279, 284, 317, 322, 323, 324, 325, 338, 339, 347, 530,
    33550, 33922, 34264, 34735, 42113,
];

/// The strip/tile offset and byte-count tags.
const CHUNK_ARRAY_TAGS: &[u16] = &[273, 279, 324, 325];

/// The most values satdet lets the decoder read from any other tag (a GeoKey directory or
/// a nodata string holds a few dozen).
const MAX_TAG_VALUES: u64 = 1 << 16;

/// Bytes held per strip/tile for its offset and byte count while opening: the `tiff`
/// decoder's transient `Value`s and its own `u64` arrays, and satdet's copies.
pub(super) const INDEX_BYTES_PER_CHUNK: u64 =
    2 * (std::mem::size_of::<tiff::decoder::ifd::Value>() as u64 + 8 + 8);

/// The budget for the strip/tile index: a quarter of [`Limits::max_window_bytes`]
/// (128 MiB by default: 2.8 million chunks, 100 000 × 100 000 pixels in 64 × 64 tiles).
pub(super) fn index_budget(limits: &Limits) -> u64 {
    limits.max_window_bytes / 4
}

/// Bytes of one value of a TIFF field type (unknown types count as 1: the decoder rejects
/// them itself).
fn type_size(t: u16) -> u64 {
    match t {
        3 | 8 => 2,
        4 | 9 | 11 | 13 => 4,
        5 | 10 | 12 | 16 | 17 | 18 => 8,
        _ => 1,
    }
}

struct Reader<R> {
    r: R,
    big_endian: bool,
}

impl<R: Read> Reader<R> {
    fn bytes<const N: usize>(&mut self) -> std::io::Result<[u8; N]> {
        let mut b = [0u8; N];
        self.r.read_exact(&mut b)?;
        if self.big_endian {
            b.reverse();
        }
        Ok(b)
    }
    fn u16(&mut self) -> std::io::Result<u16> {
        self.bytes().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> std::io::Result<u32> {
        self.bytes().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> std::io::Result<u64> {
        self.bytes().map(u64::from_le_bytes)
    }
}

/// Checks the first directory's entry counts in `r`, a file of `file_len` bytes, and
/// leaves `r` at its start. A short or malformed header is left to the `tiff` decoder to
/// report; a failure of the source (a store that cannot be read) is returned.
pub(super) fn check_first_ifd<R: Read + Seek>(
    mut r: R,
    file_len: u64,
    path: &Path,
    limits: &Limits,
) -> Result<()> {
    let scanned = scan(&mut r, file_len, path, limits);
    r.seek(SeekFrom::Start(0)).map_err(|e| Error::io(path, e))?;
    match scanned {
        Ok(()) | Err(Scan::Unreadable) => Ok(()),
        Err(Scan::Refused(e)) => Err(e),
    }
}

enum Scan {
    /// Too short or malformed to scan: the decoder says why.
    Unreadable,
    Refused(Error),
}

impl From<std::io::Error> for Scan {
    fn from(e: std::io::Error) -> Self {
        match crate::raster::bytes::source_error(e) {
            Ok(ours) => Scan::Refused(ours),
            Err(_) => Scan::Unreadable,
        }
    }
}

fn scan<R: Read + Seek>(
    r: R,
    file_len: u64,
    path: &Path,
    limits: &Limits,
) -> std::result::Result<(), Scan> {
    let mut r = Reader {
        r,
        big_endian: false,
    };
    let order: [u8; 2] = r.bytes()?;
    r.big_endian = order == *b"MM";
    let big = match r.u16()? {
        42 => false,
        43 => true,
        _ => return Err(Scan::Unreadable),
    };
    let ifd = if big {
        r.u32()?; // offset size and a reserved 0
        r.u64()?
    } else {
        u64::from(r.u32()?)
    };
    r.r.seek(SeekFrom::Start(ifd))?;
    let entries = if big { r.u64()? } else { u64::from(r.u16()?) };
    let entry_len: u64 = if big { 20 } else { 12 };
    let corrupt = |detail: String| Scan::Refused(Error::corrupt(path, detail));
    if entries.saturating_mul(entry_len) > file_len.saturating_sub(ifd) {
        return Err(corrupt(format!(
            "the first directory claims {entries} entries, more than the file holds"
        )));
    }
    for _ in 0..entries {
        let tag = r.u16()?;
        let typ = r.u16()?;
        let count = if big { r.u64()? } else { u64::from(r.u32()?) };
        let value = if big { r.u64()? } else { u64::from(r.u32()?) };
        if !READ_TAGS.contains(&tag) {
            continue;
        }
        let bytes = count.saturating_mul(type_size(typ));
        let inline = if big { 8 } else { 4 };
        if bytes > inline && value.saturating_add(bytes) > file_len {
            return Err(corrupt(format!(
                "tag {tag}: {count} values ({bytes} bytes) at offset {value} run past the end of the {file_len}-byte file"
            )));
        }
        if CHUNK_ARRAY_TAGS.contains(&tag) {
            Limits::check(
                || format!("{}: {count} strips/tiles (tag {tag})", path.display()),
                "strip/tile index bytes (a quarter of max_window_bytes)",
                count.saturating_mul(INDEX_BYTES_PER_CHUNK),
                index_budget(limits),
            )
            .map_err(Scan::Refused)?;
        } else if count > MAX_TAG_VALUES {
            return Err(corrupt(format!(
                "tag {tag} claims {count} values; satdet reads at most {MAX_TAG_VALUES} from it"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A little-endian classic TIFF header and a first directory of `entries`
    /// (tag, type, count, value), padded to `len` bytes.
    fn tiff(entries: &[(u16, u16, u32, u32)], len: usize) -> Vec<u8> {
        let mut b = b"II*\0".to_vec();
        b.extend(8u32.to_le_bytes());
        b.extend((entries.len() as u16).to_le_bytes());
        for (t, ty, c, v) in entries {
            b.extend(t.to_le_bytes());
            b.extend(ty.to_le_bytes());
            b.extend(c.to_le_bytes());
            b.extend(v.to_le_bytes());
        }
        b.resize(len.max(b.len()), 0);
        b
    }

    fn run(b: Vec<u8>, limits: &Limits) -> std::result::Result<(), Scan> {
        let len = b.len() as u64;
        scan(Cursor::new(b), len, Path::new("x.tif"), limits)
    }

    #[test]
    fn chunk_arrays_are_bounded_by_the_limits_and_the_file() {
        let limits = Limits {
            max_window_bytes: 4 * 1000 * INDEX_BYTES_PER_CHUNK,
            ..Limits::default()
        };
        // 1000 tiles of LONG offsets at offset 100: fits the budget and the file.
        let ok = tiff(&[(324, 4, 1000, 100), (325, 4, 1000, 4100)], 8200);
        assert!(run(ok, &limits).is_ok());
        let over = tiff(&[(324, 4, 1001, 100)], 8200);
        assert!(matches!(
            run(over, &limits),
            Err(Scan::Refused(Error::Limits { .. }))
        ));
        // Values past the end of the file.
        let past = tiff(&[(273, 4, 1000, 100)], 2000);
        assert!(matches!(
            run(past, &limits),
            Err(Scan::Refused(Error::CorruptRaster { .. }))
        ));
        // Any other tag read: a fixed bound.
        let bits = tiff(&[(258, 1, 70_000, 100)], 80_000);
        assert!(matches!(
            run(bits, &limits),
            Err(Scan::Refused(Error::CorruptRaster { .. }))
        ));
        // Tags not read are not checked; too short to scan is left to the decoder.
        let other = tiff(&[(700, 1, u32::MAX, 100)], 200);
        assert!(run(other, &limits).is_ok());
        assert!(matches!(
            run(b"II*".to_vec(), &limits),
            Err(Scan::Unreadable)
        ));
    }

    /// BigTIFF (64-bit counts), big-endian: the same checks.
    #[test]
    fn bigtiff_counts_are_checked_too() {
        let limits = Limits::default();
        let mut b = b"MM\0\x2b\0\x08\0\0".to_vec();
        b.extend(16u64.to_be_bytes());
        b.extend(1u64.to_be_bytes());
        // TileOffsets, LONG8, 2^40 values at offset 64.
        b.extend(324u16.to_be_bytes());
        b.extend(16u16.to_be_bytes());
        b.extend((1u64 << 40).to_be_bytes());
        b.extend(64u64.to_be_bytes());
        b.resize(4096, 0);
        assert!(matches!(
            run(b.clone(), &limits),
            Err(Scan::Refused(Error::CorruptRaster { .. }))
        ));
        // A directory claiming more entries than the file holds.
        b[16..24].copy_from_slice(&(1u64 << 50).to_be_bytes());
        assert!(matches!(
            run(b, &limits),
            Err(Scan::Refused(Error::CorruptRaster { .. }))
        ));
    }
}
