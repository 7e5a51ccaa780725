//! OGC GeoPackage 1.2 (a SQLite file, through `rusqlite` with the bundled SQLite): the
//! required `gpkg_spatial_ref_sys` (with EPSG:4326), `gpkg_contents` and
//! `gpkg_geometry_columns` tables, one feature table named after the layer with a
//! `geom` column of StandardGeoPackageBinary geometries (header with envelope, then
//! little-endian WKB), and the `application_id`/`user_version` pragmas. The layer's
//! metadata is in `gpkg_metadata` (the metadata extension), in GDAL's format, so GDAL
//! and QGIS show it as the layer's metadata.
//!
//! The database is built in memory and serialized into the atomic writer, so a failed
//! write never leaves a partial file (SQLite would write its own journal beside it).

use super::layer::{FieldType, Geometry, Layer, Value};
use super::read::{RawFeature, RawGeom, RawLayer, RawValue};
use crate::error::{Error, Result};
use rusqlite::types::ValueRef;
use rusqlite::{params_from_iter, Connection, OpenFlags, OptionalExtension};
use std::io::Write;
use std::path::Path;

/// "GPKG" as the SQLite `application_id`.
const APPLICATION_ID: i32 = 0x4750_4B47;
/// GeoPackage 1.2.0: the tables written are 1.2's, and GDAL 3.6 (Debian 12's) warns that
/// 1.4 "may only be partially supported".
const USER_VERSION: i32 = 10200;

const WGS84_WKT: &str = r#"GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]"#;

const SCHEMA: &str = r#"
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY,
  organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
  definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE gpkg_extensions (
  table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL,
  definition TEXT NOT NULL, scope TEXT NOT NULL,
  CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
CREATE TABLE gpkg_metadata (
  id INTEGER CONSTRAINT m_pk PRIMARY KEY ASC NOT NULL,
  md_scope TEXT NOT NULL DEFAULT 'dataset', md_standard_uri TEXT NOT NULL,
  mime_type TEXT NOT NULL DEFAULT 'text/xml', metadata TEXT NOT NULL DEFAULT '');
CREATE TABLE gpkg_metadata_reference (
  reference_scope TEXT NOT NULL, table_name TEXT, column_name TEXT, row_id_value INTEGER,
  timestamp DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  md_file_id INTEGER NOT NULL, md_parent_id INTEGER,
  CONSTRAINT crmr_mfi_fk FOREIGN KEY (md_file_id) REFERENCES gpkg_metadata(id),
  CONSTRAINT crmr_mpi_fk FOREIGN KEY (md_parent_id) REFERENCES gpkg_metadata(id));
INSERT INTO gpkg_extensions VALUES
  ('gpkg_metadata', NULL, 'gpkg_metadata', 'http://www.geopackage.org/spec120/#extension_metadata', 'read-write'),
  ('gpkg_metadata_reference', NULL, 'gpkg_metadata', 'http://www.geopackage.org/spec120/#extension_metadata', 'read-write');
"#;

/// GDAL's metadata standard: `gpkg_metadata` rows with this URI hold
/// `<GDALMultiDomainMetadata><Metadata><MDI key="key">value</MDI>…</Metadata>
/// </GDALMultiDomainMetadata>`, which GDAL/OGR (`ogrinfo -so`) and QGIS show as the
/// layer's metadata.
const GDAL_URI: &str = "http://gdal.org";

fn gdal_metadata_xml(meta: &[(String, String)]) -> String {
    let esc = super::kml::esc;
    let items: String = meta
        .iter()
        .map(|(k, v)| format!("<MDI key=\"{}\">{}</MDI>", esc(k), esc(v)))
        .collect();
    format!("<GDALMultiDomainMetadata><Metadata>{items}</Metadata></GDALMultiDomainMetadata>")
}

fn read_gdal_metadata_xml(
    xml: &str,
) -> std::result::Result<std::collections::HashMap<String, String>, String> {
    let doc =
        roxmltree::Document::parse(xml).map_err(|e| format!("bad layer metadata XML: {e}"))?;
    // The default domain only (a `Metadata` without a `domain`).
    Ok(doc
        .root_element()
        .descendants()
        .filter(|n| {
            n.tag_name().name() == "MDI"
                && n.parent_element().is_some_and(|p| {
                    p.tag_name().name() == "Metadata" && p.attribute("domain").is_none()
                })
        })
        .filter_map(|n| {
            n.attribute("key")
                .map(|k| (k.to_string(), super::kml::text_of(n)))
        })
        .collect())
}

/// A SQL identifier, double-quoted.
fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// StandardGeoPackageBinary: `GP`, version 0, flags (little-endian, xy envelope), SRS
/// id 4326, the envelope `[min x, max x, min y, max y]`, then WKB.
pub(crate) fn gpkg_blob(g: &Geometry) -> Vec<u8> {
    let [x0, y0, x1, y1] = g.bbox();
    let mut b = Vec::with_capacity(64);
    b.extend_from_slice(&[b'G', b'P', 0, 0b0000_0011]);
    b.extend_from_slice(&4326i32.to_le_bytes());
    for v in [x0, x1, y0, y1] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.push(1); // WKB little-endian
    match g {
        Geometry::Point(p) => {
            b.extend_from_slice(&1u32.to_le_bytes());
            b.extend_from_slice(&p[0].to_le_bytes());
            b.extend_from_slice(&p[1].to_le_bytes());
        }
        Geometry::Polygon(r) => {
            b.extend_from_slice(&3u32.to_le_bytes());
            b.extend_from_slice(&1u32.to_le_bytes());
            // A ring's length fits u32: the layer is in memory.
            b.extend_from_slice(&(r.len() as u32).to_le_bytes());
            for p in r {
                b.extend_from_slice(&p[0].to_le_bytes());
                b.extend_from_slice(&p[1].to_le_bytes());
            }
        }
    }
    b
}

fn geometry_type_name(layer: &Layer) -> &'static str {
    let polys = layer
        .features
        .iter()
        .all(|f| matches!(f.geometry, Some(Geometry::Polygon(_)) | None));
    let points = layer
        .features
        .iter()
        .all(|f| matches!(f.geometry, Some(Geometry::Point(_)) | None));
    match (polys, points) {
        (true, _) => "POLYGON",
        (_, true) => "POINT",
        _ => "GEOMETRY",
    }
}

fn build(db: &Connection, layer: &Layer) -> rusqlite::Result<()> {
    db.pragma_update(None, "application_id", APPLICATION_ID)?;
    db.pragma_update(None, "user_version", USER_VERSION)?;
    db.execute_batch(SCHEMA)?;
    db.execute(
        "INSERT INTO gpkg_spatial_ref_sys VALUES
         ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
         ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
         ('WGS 84 geodetic', 4326, 'EPSG', 4326, ?1, 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid')",
        [WGS84_WKT],
    )?;
    let bbox = layer
        .features
        .iter()
        .filter_map(|f| f.geometry.as_ref().map(Geometry::bbox))
        .reduce(|a, b| {
            [
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ]
        });
    let [x0, y0, x1, y1] = bbox.map_or([None; 4], |b| b.map(Some));
    db.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, min_x, min_y, max_x, max_y, srs_id, last_change)
         VALUES (?1, 'features', ?1, ?2, ?3, ?4, ?5, ?6, 4326, COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', ?7, 'unixepoch'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))",
        rusqlite::params![layer.name, format!("satdet {}", layer.name), x0, y0, x1, y1, source_date_epoch()],
    )?;
    db.execute(
        "INSERT INTO gpkg_geometry_columns VALUES (?1, 'geom', ?2, 4326, 0, 0)",
        rusqlite::params![layer.name, geometry_type_name(layer)],
    )?;
    let mut cols = vec![
        "fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL".to_string(),
        format!("geom {}", geometry_type_name(layer)),
    ];
    cols.extend(layer.fields.iter().map(|f| {
        let t = match f.kind {
            FieldType::Text | FieldType::Json => "TEXT",
            FieldType::Integer => "INTEGER",
            FieldType::Real => "REAL",
        };
        format!("{} {t}", ident(&f.name))
    }));
    db.execute_batch(&format!(
        "CREATE TABLE {} ({});",
        ident(&layer.name),
        cols.join(", ")
    ))?;
    let names: Vec<String> = layer.fields.iter().map(|f| ident(&f.name)).collect();
    let marks: Vec<String> = (0..=layer.fields.len())
        .map(|i| format!("?{}", i + 1))
        .collect();
    let mut insert = db.prepare(&format!(
        "INSERT INTO {} (geom{}{}) VALUES ({})",
        ident(&layer.name),
        if names.is_empty() { "" } else { ", " },
        names.join(", "),
        marks.join(", ")
    ))?;
    for f in &layer.features {
        let mut row: Vec<rusqlite::types::Value> = vec![f.geometry.as_ref().map(gpkg_blob).into()];
        row.extend(f.values.iter().map(|v| match v {
            Value::Null => rusqlite::types::Value::Null,
            Value::Text(s) | Value::Json(s) => s.clone().into(),
            Value::Integer(i) => (*i).into(),
            Value::Real(r) => (*r).into(),
        }));
        insert.execute(params_from_iter(row))?;
    }
    db.execute(
        "INSERT INTO gpkg_metadata (id, md_scope, md_standard_uri, mime_type, metadata)
         VALUES (1, 'dataset', ?1, 'text/xml', ?2)",
        [GDAL_URI, &gdal_metadata_xml(&layer.metadata)],
    )?;
    db.execute(
        "INSERT INTO gpkg_metadata_reference (reference_scope, table_name, md_file_id, timestamp)
         VALUES ('table', ?1, 1, COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', ?2, 'unixepoch'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))",
        rusqlite::params![layer.name, source_date_epoch()],
    )?;
    Ok(())
}

/// The time the GeoPackage says it was written (`last_change`, the metadata's
/// `timestamp`): `SOURCE_DATE_EPOCH` (seconds since 1970, the reproducible-builds
/// convention) when set, so that the same detections give the same bytes (a resumed run,
/// merged shards); otherwise now.
fn source_date_epoch() -> Option<i64> {
    std::env::var("SOURCE_DATE_EPOCH").ok()?.trim().parse().ok()
}

/// `layer` as a GeoPackage into `w`.
pub(crate) fn write_gpkg(w: &mut impl Write, layer: &Layer, path: &Path) -> Result<()> {
    let err = |e: rusqlite::Error| Error::Output {
        path: path.to_path_buf(),
        detail: format!("building the GeoPackage: {e}"),
        source: None,
    };
    let mut db = Connection::open_in_memory().map_err(err)?;
    db.execute_batch("BEGIN").map_err(err)?;
    build(&db, layer).map_err(err)?;
    db.execute_batch("COMMIT").map_err(err)?;
    let bytes = db.serialize(rusqlite::MAIN_DB).map_err(err)?;
    w.write_all(&bytes).map_err(super::atomic::io_err(path))
}

/// Reads the first feature table of a GeoPackage: its columns as properties, its
/// geometries (polygons' exterior rings), and `satdet_metadata` when present.
pub(crate) fn read_gpkg(path: &Path) -> std::result::Result<RawLayer, String> {
    let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("cannot open as SQLite: {e}"))?;
    let q = |e: rusqlite::Error| format!("not a GeoPackage: {e}");
    let (table, column): (String, String) = db
        .query_row(
            "SELECT table_name, column_name FROM gpkg_geometry_columns ORDER BY rowid LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(q)?;
    let mut layer = RawLayer::default();
    let xml: Option<String> = db
        .query_row(
            "SELECT m.metadata FROM gpkg_metadata m
             JOIN gpkg_metadata_reference r ON r.md_file_id = m.id
             WHERE r.reference_scope = 'table' AND r.table_name = ?1
               AND m.md_standard_uri = ?2 LIMIT 1",
            [&table, GDAL_URI],
            |r| r.get(0),
        )
        .optional()
        // A GeoPackage without the metadata extension has no metadata.
        .unwrap_or(None);
    if let Some(xml) = xml {
        layer.meta = read_gdal_metadata_xml(&xml)?;
    }
    let mut st = db
        .prepare(&format!("SELECT * FROM {} ORDER BY fid", ident(&table)))
        .map_err(q)?;
    let names: Vec<String> = st.column_names().map(|s| s.to_string()).collect();
    let mut rows = st.query([]).map_err(q)?;
    while let Some(row) = rows.next().map_err(q)? {
        let i = layer.features.len();
        let mut f = RawFeature::default();
        for (c, name) in names.iter().enumerate() {
            let v = row.get_ref(c).map_err(q)?;
            if *name == column {
                f.geom = match v {
                    ValueRef::Null => RawGeom::None,
                    ValueRef::Blob(b) => read_blob(b).map_err(|e| format!("feature {i}: {e}"))?,
                    _ => return Err(format!("feature {i}: `{column}` is not a geometry blob")),
                };
                continue;
            }
            let raw = match v {
                ValueRef::Null => RawValue::Null,
                ValueRef::Integer(n) => RawValue::Num(n as f64),
                ValueRef::Real(r) => RawValue::Num(r),
                ValueRef::Text(t) => RawValue::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(_) => RawValue::Text("<blob>".into()),
            };
            f.props.insert(name.clone(), raw);
        }
        layer.features.push(f);
    }
    Ok(layer)
}

/// A GeoPackage geometry blob: the exterior ring of a polygon; other types by name.
fn read_blob(b: &[u8]) -> std::result::Result<RawGeom, String> {
    if b.len() < 8 || &b[..2] != b"GP" {
        return Err("a geometry blob without the GP header".into());
    }
    let flags = b[3];
    if flags & 0b0001_0000 != 0 {
        return Ok(RawGeom::None); // empty geometry
    }
    let envelope = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        e => return Err(format!("bad envelope code {e}")),
    };
    let wkb = b.get(8 + envelope..).ok_or("a truncated geometry blob")?;
    read_wkb_polygon(wkb)
}

/// WKB (either byte order): a 2-D polygon's exterior ring; another type by name. Counts
/// are checked against the bytes present before anything is allocated.
fn read_wkb_polygon(b: &[u8]) -> std::result::Result<RawGeom, String> {
    let le = match b.first() {
        Some(1) => true,
        Some(0) => false,
        _ => return Err("bad WKB byte order".into()),
    };
    let u32_at = |at: usize| -> std::result::Result<u32, String> {
        let s: [u8; 4] = b
            .get(at..at + 4)
            .and_then(|s| s.try_into().ok())
            .ok_or("truncated WKB")?;
        Ok(if le {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        })
    };
    let f64_at = |at: usize| -> std::result::Result<f64, String> {
        let s: [u8; 8] = b
            .get(at..at + 8)
            .and_then(|s| s.try_into().ok())
            .ok_or("truncated WKB")?;
        Ok(if le {
            f64::from_le_bytes(s)
        } else {
            f64::from_be_bytes(s)
        })
    };
    let kind = u32_at(1)?;
    if kind != 3 {
        let name = match kind % 1000 {
            1 => "Point",
            2 => "LineString",
            3 => "Polygon with Z or M",
            6 => "MultiPolygon",
            _ => "geometry of another type",
        };
        return Ok(RawGeom::Other(name.into()));
    }
    let rings = u32_at(5)?;
    if rings == 0 {
        return Ok(RawGeom::None);
    }
    if rings > 1 {
        return Ok(RawGeom::Other("Polygon with holes".into()));
    }
    let n = u32_at(9)? as usize;
    if n > (b.len().saturating_sub(13)) / 16 {
        return Err(format!("WKB ring of {n} points in {} bytes", b.len()));
    }
    (0..n)
        .map(|i| Ok([f64_at(13 + 16 * i)?, f64_at(21 + 16 * i)?]))
        .collect::<std::result::Result<Vec<_>, String>>()
        .map(RawGeom::Polygon)
}
