//! A first look at a TIFF's directories, before the `tiff` crate reads them.
//!
//! `tiff::decoder::Decoder::new` reads the strip/tile offset and byte-count arrays (and the
//! other tags of an image) while opening, under its own default limits (up to 256 MiB of
//! values a tag), before satdet can set any. So the entry counts are checked here first:
//! the chunk arrays against [`Limits`], every tag that is read against the file's length
//! (values cannot lie past its end) and a fixed bound. The directories after the first
//! (reduced-resolution images: overviews, and masks) get the same checks, at most
//! [`MAX_IFDS`] of them, a chain that loops back ending the walk.

use crate::error::{Error, Result};
use crate::limits::Limits;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Tags the `tiff` decoder reads while opening, or satdet reads after.
const READ_TAGS: &[u16] = &[
    254, 256, 257, 258, 259, 262, 273, 277, 278, 279, 284, 317, 322, 323, 324, 325, 338, 339, 347,
    530, 33550, 33922, 34264, 34735, 34736, 34737, 42113,
];

/// The strip/tile offset and byte-count tags.
const CHUNK_ARRAY_TAGS: &[u16] = &[273, 279, 324, 325];

/// The most directories satdet looks at: the image and its overviews and masks (a
/// 2^20-pixel-wide COG has 12 overview levels, each with a mask: 26).
pub(super) const MAX_IFDS: usize = 64;

/// What the scan learns of one directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct IfdSummary {
    /// NewSubfileType (tag 254): bit 0 reduced resolution, bit 2 a transparency mask.
    pub subfile_type: u64,
    pub width: u64,
    pub height: u64,
}

impl IfdSummary {
    /// A reduced-resolution image of the first one, not a mask (NewSubfileType 1).
    pub fn is_overview(&self) -> bool {
        self.subfile_type & 0b101 == 0b001
    }
}

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

/// Checks every directory's entry counts (the first, and up to [`MAX_IFDS`] after it) in
/// `r`, a file of `file_len` bytes, and leaves `r` at its start; returns what each
/// directory read cleanly is (the first is index 0). A short or malformed first header is
/// left to the `tiff` decoder to report; the walk stops at a later directory it cannot
/// read. A failure of the source (a store that cannot be read) in the first directory is
/// returned.
pub(super) fn check_ifds<R: Read + Seek>(
    mut r: R,
    file_len: u64,
    path: &Path,
    limits: &Limits,
) -> Result<Ifds> {
    let mut ifds = Vec::new();
    let scanned = scan(&mut r, file_len, path, limits, &mut ifds);
    r.seek(SeekFrom::Start(0)).map_err(|e| Error::io(path, e))?;
    let later_refused = match scanned {
        Ok(()) | Err(Scan::Unreadable) => None,
        Err(Scan::Later(e)) => Some(e),
        Err(Scan::Refused(e)) => return Err(e),
    };
    Ok(Ifds {
        ifds,
        later_refused,
    })
}

/// What [`check_ifds`] found.
pub(super) struct Ifds {
    /// Each directory read, in file order (the image first).
    pub ifds: Vec<IfdSummary>,
    /// Why the walk stopped at a later directory, if one was refused (its overviews and
    /// those after it are not used).
    pub later_refused: Option<Error>,
}

enum Scan {
    /// Too short or malformed to scan: the decoder says why.
    Unreadable,
    Refused(Error),
    /// A directory after the first refused: the ones before it stand.
    Later(Error),
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
    ifds: &mut Vec<IfdSummary>,
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
    let mut ifd = if big {
        r.u32()?; // offset size and a reserved 0
        r.u64()?
    } else {
        u64::from(r.u32()?)
    };
    let mut seen = Vec::new();
    while ifd != 0 && ifds.len() < MAX_IFDS && !seen.contains(&ifd) {
        seen.push(ifd);
        let which = ifds.len();
        match scan_ifd(&mut r, big, ifd, which, file_len, path, limits) {
            Ok((summary, next)) => {
                ifds.push(summary);
                ifd = next;
            }
            // A later directory is read only when its overview is asked for: one that
            // cannot be, or is refused, ends the list of overviews, not the scene.
            Err(Scan::Refused(e)) if which > 0 => return Err(Scan::Later(e)),
            Err(Scan::Unreadable) if which > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Checks directory number `which` at offset `ifd`; returns what it is and the next
/// directory's offset (0: none).
fn scan_ifd<R: Read + Seek>(
    r: &mut Reader<R>,
    big: bool,
    ifd: u64,
    which: usize,
    file_len: u64,
    path: &Path,
    limits: &Limits,
) -> std::result::Result<(IfdSummary, u64), Scan> {
    r.r.seek(SeekFrom::Start(ifd))?;
    let entries = if big { r.u64()? } else { u64::from(r.u16()?) };
    let entry_len: u64 = if big { 20 } else { 12 };
    let corrupt = |detail: String| Scan::Refused(Error::corrupt(path, detail));
    let name = if which == 0 {
        "the first directory".to_string()
    } else {
        format!("directory {which}")
    };
    if entries.saturating_mul(entry_len) > file_len.saturating_sub(ifd) {
        return Err(corrupt(format!(
            "{name} claims {entries} entries, more than the file holds"
        )));
    }
    let mut summary = IfdSummary {
        subfile_type: 0,
        width: 0,
        height: 0,
    };
    for _ in 0..entries {
        let tag = r.u16()?;
        let typ = r.u16()?;
        let count = if big { r.u64()? } else { u64::from(r.u32()?) };
        let value = if big { r.u64()? } else { u64::from(r.u32()?) };
        if !READ_TAGS.contains(&tag) {
            continue;
        }
        // A SHORT held in the value field: its first two bytes, which a big-endian
        // reading of the whole field puts at the top.
        let inline = if typ == 3 && r.big_endian {
            value >> if big { 48 } else { 16 }
        } else {
            value
        };
        match tag {
            254 => summary.subfile_type = inline,
            256 => summary.width = inline,
            257 => summary.height = inline,
            _ => {}
        }
        let bytes = count.saturating_mul(type_size(typ));
        let inline_len = if big { 8 } else { 4 };
        if bytes > inline_len && value.saturating_add(bytes) > file_len {
            return Err(corrupt(format!(
                "{name}, tag {tag}: {count} values ({bytes} bytes) at offset {value} run past the end of the {file_len}-byte file"
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
                "{name}, tag {tag} claims {count} values; satdet reads at most {MAX_TAG_VALUES} from it"
            )));
        }
    }
    let next = if big { r.u64()? } else { u64::from(r.u32()?) };
    Ok((summary, next))
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
        scan(
            Cursor::new(b),
            len,
            Path::new("x.tif"),
            limits,
            &mut Vec::new(),
        )
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

    /// Classic little-endian directories at 8, `at[1]`, …, each of (tag, type, count,
    /// value) entries, chained in order (the last pointing to `last_next`).
    /// One directory entry: tag, type, count, value.
    type Entry = (u16, u16, u32, u32);

    fn chain(dirs: &[(u32, Vec<Entry>)], last_next: u32, len: usize) -> Vec<u8> {
        let mut b = b"II*\0".to_vec();
        b.extend(dirs[0].0.to_le_bytes());
        for (k, (at, entries)) in dirs.iter().enumerate() {
            b.resize(*at as usize, 0);
            b.extend((entries.len() as u16).to_le_bytes());
            for (t, ty, c, v) in entries {
                b.extend(t.to_le_bytes());
                b.extend(ty.to_le_bytes());
                b.extend(c.to_le_bytes());
                b.extend(v.to_le_bytes());
            }
            let next = dirs.get(k + 1).map_or(last_next, |d| d.0);
            b.extend(next.to_le_bytes());
        }
        b.resize(len.max(b.len()), 0);
        b
    }

    fn image(subfile: u32, w: u32, h: u32) -> Vec<Entry> {
        vec![(254, 4, 1, subfile), (256, 3, 1, w), (257, 4, 1, h)]
    }

    #[test]
    fn later_directories_are_listed_bounded_and_may_not_loop() {
        let limits = Limits::default();
        let dirs = vec![
            (8, image(0, 400, 300)),
            (100, image(1, 200, 150)),
            (200, image(5, 200, 150)), // the overview's mask
            (300, image(1, 100, 75)),
        ];
        // The last points back to the second: the walk ends at a directory seen before.
        let b = chain(&dirs, 100, 1000);
        let mut ifds = Vec::new();
        let len = b.len() as u64;
        assert!(scan(Cursor::new(b), len, Path::new("x.tif"), &limits, &mut ifds).is_ok());
        let overviews: Vec<(u64, u64)> = ifds
            .iter()
            .filter(|d| d.is_overview())
            .map(|d| (d.width, d.height))
            .collect();
        assert_eq!(ifds.len(), 4);
        assert_eq!(overviews, [(200, 150), (100, 75)]);

        // A later directory past the limits ends the list, not the scene.
        let mut dirs = dirs;
        dirs[2].1.push((324, 4, u32::MAX, 400));
        let b = chain(&dirs, 0, 1000);
        let mut ifds = Vec::new();
        let r = scan(Cursor::new(b), 1000, Path::new("x.tif"), &limits, &mut ifds);
        assert!(matches!(r, Err(Scan::Later(Error::CorruptRaster { .. }))));
        assert_eq!(ifds.len(), 2);

        // At most MAX_IFDS directories are looked at.
        let many: Vec<_> = (0..MAX_IFDS as u32 + 5)
            .map(|k| (8 + 64 * k, image(1, 10, 10)))
            .collect();
        let b = chain(&many, 0, 0);
        let len = b.len() as u64;
        let mut ifds = Vec::new();
        assert!(scan(Cursor::new(b), len, Path::new("x.tif"), &limits, &mut ifds).is_ok());
        assert_eq!(ifds.len(), MAX_IFDS);
    }

    /// A SHORT in a big-endian value field is its first two bytes.
    #[test]
    fn big_endian_short_values_are_read() {
        let mut b = b"MM\0\x2a\0\0\0\x08".to_vec();
        b.extend(2u16.to_be_bytes());
        for (tag, v) in [(256u16, 640u16), (257, 480)] {
            b.extend(tag.to_be_bytes());
            b.extend(3u16.to_be_bytes());
            b.extend(1u32.to_be_bytes());
            b.extend(v.to_be_bytes());
            b.extend([0, 0]);
        }
        b.extend(0u32.to_be_bytes());
        let len = b.len() as u64;
        let mut ifds = Vec::new();
        assert!(scan(
            Cursor::new(b),
            len,
            Path::new("x.tif"),
            &Limits::default(),
            &mut ifds
        )
        .is_ok());
        assert_eq!((ifds[0].width, ifds[0].height), (640, 480));
    }
}
