//! Mutations for `tests/fuzz_rasters.rs`: set a byte, cut the file, or replace a header
//! field with an edge value: a TIFF directory entry's type, count or value; a PNG's IHDR
//! width, height, depth or colour type (its CRC fixed, so the decoder goes deeper); a
//! JPEG's frame height, width or component count; a world-file or `.prj` token.
#![allow(dead_code)]

use proptest::prelude::*;
use proptest::sample::Index;

/// Edge values for header fields.
const INTERESTING: &[u32] = &[
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    15,
    16,
    17,
    255,
    256,
    0x7FFF,
    0x8000,
    0xFFFF,
    0x1_0000,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFE,
    0xFFFF_FFFF,
];

/// Edge values for world-file numbers and `.prj` text.
const INTERESTING_TEXT: &[&str] = &[
    "",
    "NaN",
    "inf",
    "-inf",
    "1e308",
    "-1e308",
    "0",
    "-0",
    "1e-320",
    "x",
    "[[[[",
    "\"",
    "AUTHORITY[\"EPSG\",\"99999\"]",
    "EPSG:4326",
    "EPSG:",
    "9999999999999999999999",
];

#[derive(Debug, Clone)]
pub enum Mutation {
    /// Set one byte.
    Set { at: Index, byte: u8 },
    /// Cut the file.
    Truncate { at: Index },
    /// Replace a header field: a TIFF directory entry's type, count or value; a PNG's
    /// IHDR width, height, depth or colour type (CRC fixed); a JPEG's frame height,
    /// width or component count; a sidecar's token.
    Field { which: Index, part: u8, value: u32 },
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    let value = prop_oneof![proptest::sample::select(INTERESTING), any::<u32>()];
    prop_oneof![
        3 => (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set { at, byte }),
        1 => any::<Index>().prop_map(|at| Mutation::Truncate { at }),
        2 => (any::<Index>(), 0u8..4, value)
            .prop_map(|(which, part, value)| Mutation::Field { which, part, value }),
    ]
}

/// Offsets of the entries of a TIFF's first directory, and whether it is BigTIFF and
/// big-endian.
pub fn tiff_entries(b: &[u8]) -> Option<(Vec<usize>, bool, bool)> {
    let be = b.get(..2)? == b"MM";
    let u16_at = |o: usize| -> Option<u16> {
        let s: [u8; 2] = b.get(o..o + 2)?.try_into().ok()?;
        Some(if be {
            u16::from_be_bytes(s)
        } else {
            u16::from_le_bytes(s)
        })
    };
    let u32_at = |o: usize| -> Option<u32> {
        let s: [u8; 4] = b.get(o..o + 4)?.try_into().ok()?;
        Some(if be {
            u32::from_be_bytes(s)
        } else {
            u32::from_le_bytes(s)
        })
    };
    let u64_at = |o: usize| -> Option<u64> {
        let s: [u8; 8] = b.get(o..o + 8)?.try_into().ok()?;
        Some(if be {
            u64::from_be_bytes(s)
        } else {
            u64::from_le_bytes(s)
        })
    };
    let big = u16_at(2)? == 43;
    let (ifd, n, first, len) = if big {
        let ifd = usize::try_from(u64_at(8)?).ok()?;
        (ifd, usize::try_from(u64_at(ifd)?).ok()?, ifd + 8, 20)
    } else {
        let ifd = u32_at(4)? as usize;
        (ifd, usize::from(u16_at(ifd)?), ifd + 2, 12)
    };
    let _ = ifd;
    let entries = (0..n.min(4096))
        .map(|i| first + i * len)
        .filter(|&o| o + len <= b.len())
        .collect();
    Some((entries, big, be))
}

pub fn put(b: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = b.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn field(b: &mut Vec<u8>, which: &Index, part: u8, value: u32) {
    if b.starts_with(b"II") || b.starts_with(b"MM") {
        let Some((entries, big, be)) = tiff_entries(b) else {
            return;
        };
        if entries.is_empty() {
            return;
        }
        let e = *which.get(&entries);
        let v16 = value as u16;
        let (v16, v32, v64) = if be {
            (
                v16.to_be_bytes(),
                value.to_be_bytes(),
                u64::from(value).to_be_bytes(),
            )
        } else {
            (
                v16.to_le_bytes(),
                value.to_le_bytes(),
                u64::from(value).to_le_bytes(),
            )
        };
        match (part, big) {
            (0, _) => put(b, e + 2, &v16),
            (1, false) => put(b, e + 4, &v32),
            (1, true) => put(b, e + 4, &v64),
            (_, false) => put(b, e + 8, &v32),
            (_, true) => put(b, e + 12, &v64),
        }
    } else if b.starts_with(&[0x89, b'P', b'N', b'G']) && b.len() >= 33 {
        match part {
            0 => put(b, 16, &value.to_be_bytes()),
            1 => put(b, 20, &value.to_be_bytes()),
            2 => b[24] = value as u8,
            _ => b[25] = value as u8,
        }
        let crc = crc32(&b[12..29]);
        put(b, 29, &crc.to_be_bytes());
    } else if b.starts_with(&[0xFF, 0xD8]) {
        let sof = b
            .windows(2)
            .position(|w| w[0] == 0xFF && (0xC0..=0xC2).contains(&w[1]));
        if let Some(s) = sof {
            match part {
                0 => put(b, s + 5, &(value as u16).to_be_bytes()),
                1 => put(b, s + 7, &(value as u16).to_be_bytes()),
                _ => put(b, s + 9, &[value as u8]),
            }
        }
    } else {
        // Text: replace one token.
        let text = String::from_utf8_lossy(b).into_owned();
        let tokens: Vec<&str> = text
            .split(|c: char| c.is_whitespace() || c == ',')
            .collect();
        if tokens.is_empty() {
            return;
        }
        let i = which.index(tokens.len());
        let with = INTERESTING_TEXT[value as usize % INTERESTING_TEXT.len()];
        let mut out = Vec::new();
        let mut pos = 0;
        for (k, t) in tokens.iter().enumerate() {
            let start = text[pos..].find(t).map_or(pos, |f| pos + f);
            out.extend_from_slice(&text.as_bytes()[pos..start]);
            out.extend_from_slice(if k == i { with } else { t }.as_bytes());
            pos = start + t.len();
        }
        out.extend_from_slice(&text.as_bytes()[pos..]);
        *b = out;
    }
}

pub fn mutate(mut b: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        match m {
            Mutation::Set { at, byte } if !b.is_empty() => {
                let i = at.index(b.len());
                b[i] = *byte;
            }
            Mutation::Truncate { at } if !b.is_empty() => {
                let i = at.index(b.len());
                b.truncate(i);
            }
            Mutation::Field { which, part, value } => field(&mut b, which, *part, *value),
            _ => {}
        }
    }
    b
}
