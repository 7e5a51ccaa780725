//! Hand-built TIFFs for tests of hostile headers: the `tiff` encoder refuses to write
//! what these tests need (tiles of 1×1 pixels, chunks sharing their bytes, claims the
//! data cannot back).
#![allow(dead_code)]

/// A TIFF field value.
pub enum Val {
    Short(Vec<u16>),
    Long(Vec<u32>),
    Double(Vec<f64>),
    Ascii(String),
}

impl Val {
    fn parts(&self) -> (u16, u32, Vec<u8>) {
        match self {
            Val::Short(v) => (
                3,
                v.len() as u32,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
            Val::Long(v) => (
                4,
                v.len() as u32,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
            Val::Double(v) => (
                12,
                v.len() as u32,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
            Val::Ascii(s) => {
                let mut b = s.as_bytes().to_vec();
                b.push(0);
                (2, b.len() as u32, b)
            }
        }
    }
}

/// Where chunk data placed by [`tiff`] starts in the file.
pub const DATA_START: u32 = 8;

/// A little-endian classic TIFF: the header, `data` (at [`DATA_START`]), then one
/// directory holding `tags` (sorted here), then the values that do not fit in an entry.
pub fn tiff(mut tags: Vec<(u16, Val)>, data: &[u8]) -> Vec<u8> {
    tags.sort_by_key(|(t, _)| *t);
    let ifd_at = DATA_START as usize + data.len() + data.len() % 2;
    let values_at = ifd_at + 2 + 12 * tags.len() + 4;
    let mut out = b"II*\0".to_vec();
    out.extend((ifd_at as u32).to_le_bytes());
    out.extend(data);
    out.resize(ifd_at, 0);
    let mut values = Vec::new();
    out.extend((tags.len() as u16).to_le_bytes());
    for (tag, v) in &tags {
        let (typ, count, bytes) = v.parts();
        out.extend(tag.to_le_bytes());
        out.extend(typ.to_le_bytes());
        out.extend(count.to_le_bytes());
        if bytes.len() <= 4 {
            let mut inline = bytes.clone();
            inline.resize(4, 0);
            out.extend(inline);
        } else {
            out.extend(((values_at + values.len()) as u32).to_le_bytes());
            values.extend(&bytes);
            if values.len() % 2 == 1 {
                values.push(0);
            }
        }
    }
    out.extend(0u32.to_le_bytes());
    out.extend(values);
    out
}

/// The tags of an 8-bit grayscale image of `width` × `height` pixels with `compression`.
pub fn gray8(width: u32, height: u32, compression: u16) -> Vec<(u16, Val)> {
    vec![
        (256, Val::Long(vec![width])),
        (257, Val::Long(vec![height])),
        (258, Val::Short(vec![8])),
        (259, Val::Short(vec![compression])),
        (262, Val::Short(vec![1])),
        (277, Val::Short(vec![1])),
    ]
}

/// Writes `bytes` to `name` in a fresh temporary folder.
pub fn write(name: &str, bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).expect("write");
    (dir, p)
}
