//! Sites and changes from the neutral records of any format ([`super::read`]).

use super::read::{check_kind, detection, num, required, RawFeature, RawGeom, RawLayer, RawValue};
use crate::analysis::{Change, ChangeKind, ChangedObject, Site};
use crate::error::snippet;
use crate::geo::LonLat;
use std::collections::BTreeMap;

type Res<T> = std::result::Result<T, String>;

fn text<'a>(f: &'a RawFeature, key: &str) -> Option<&'a str> {
    match f.props.get(key) {
        Some(RawValue::Text(t)) if !t.is_empty() => Some(t),
        _ => None,
    }
}

/// A whole number in `0..=max`.
fn whole(f: &RawFeature, key: &str, max: f64) -> Res<u64> {
    let v = required(f, key)?;
    if v < 0.0 || v > max || v.fract() != 0.0 {
        return Err(format!("`{key}` {v} is not a count"));
    }
    Ok(v as u64)
}

fn optional_index(f: &RawFeature, key: &str) -> Res<Option<usize>> {
    match num(f, key)? {
        None => Ok(None),
        Some(_) => Ok(Some(whole(f, key, u32::MAX.into())? as usize)),
    }
}

fn json(f: &RawFeature, key: &str) -> Res<Option<serde_json::Value>> {
    text(f, key)
        .map(|t| {
            serde_json::from_str(t)
                .map_err(|e| format!("`{key}` is not JSON: {e}: `{}`", snippet(t)))
        })
        .transpose()
}

/// `{"car": 18, …}`.
fn counts(f: &RawFeature) -> Res<BTreeMap<String, usize>> {
    let v = json(f, "counts")?.ok_or("no `counts` value")?;
    let obj = v.as_object().ok_or("`counts` is not a JSON object")?;
    obj.iter()
        .map(|(k, n)| match n.as_u64() {
            Some(n) => Ok((k.clone(), n as usize)),
            None => Err(format!("`counts` of `{}` is not a count", snippet(k))),
        })
        .collect()
}

/// `[0, 3, 4]`, or none.
fn members(f: &RawFeature) -> Res<Vec<usize>> {
    let Some(v) = json(f, "members")? else {
        return Ok(Vec::new());
    };
    let arr = v.as_array().ok_or("`members` is not a JSON array")?;
    arr.iter()
        .map(|n| {
            n.as_u64()
                .map(|n| n as usize)
                .ok_or_else(|| "`members` holds a non-index".to_string())
        })
        .collect()
}

fn site(f: &RawFeature) -> Res<Site> {
    let polygon = match &f.geom {
        RawGeom::Polygon(r) => {
            if r.iter().flatten().any(|v| !v.is_finite()) {
                return Err("a site outline corner is not finite".into());
            }
            r.clone()
        }
        RawGeom::None => Vec::new(),
        RawGeom::Other(t) if t.eq_ignore_ascii_case("point") => Vec::new(),
        RawGeom::Other(t) => return Err(format!("geometry is a {t}, not a polygon")),
    };
    Ok(Site {
        id: whole(f, "id", u32::MAX.into())? as u32,
        polygon,
        center: LonLat {
            lon: required(f, "center_lon")?,
            lat: required(f, "center_lat")?,
        },
        counts: counts(f)?,
        total: whole(f, "total", u32::MAX.into())? as usize,
        mean_score: required(f, "mean_score")? as f32,
        members: members(f)?,
    })
}

/// The neutral records as sites, in the file's order (largest first, as written).
pub(crate) fn to_sites(raw: RawLayer) -> Res<Vec<Site>> {
    check_kind(&raw, "sites")?;
    raw.features
        .iter()
        .enumerate()
        .map(|(i, f)| site(f).map_err(|e| format!("feature {i}: {e}")))
        .collect()
}

fn object(f: &RawFeature) -> Res<ChangedObject> {
    let change = match text(f, "change") {
        Some("appeared") => ChangeKind::Appeared,
        Some("gone") => ChangeKind::Gone,
        Some("stayed") => ChangeKind::Stayed,
        Some(t) => {
            return Err(format!(
                "`change` is `{}`, not appeared, gone or stayed",
                snippet(t)
            ))
        }
        None => return Err("no `change` value".into()),
    };
    Ok(ChangedObject {
        change,
        detection: detection(f)?,
        before: optional_index(f, "before")?,
        after: optional_index(f, "after")?,
        distance_m: num(f, "distance_m")?,
    })
}

/// The neutral records as a change; its counts are recomputed from the objects.
pub(crate) fn to_change(raw: RawLayer) -> Res<Change> {
    check_kind(&raw, "change")?;
    let meta = |k: &str| -> Res<f64> {
        let v = raw.meta.get(k).ok_or(format!("no `{k}` metadata"))?;
        v.parse()
            .map_err(|_| format!("metadata `{k}` is not a number: `{}`", snippet(v)))
    };
    let objects = raw
        .features
        .iter()
        .enumerate()
        .map(|(i, f)| object(f).map_err(|e| format!("feature {i}: {e}")))
        .collect::<Res<Vec<_>>>()?;
    let mut counts: BTreeMap<String, BTreeMap<ChangeKind, usize>> = BTreeMap::new();
    for o in &objects {
        *counts
            .entry(o.detection.class_name.to_string())
            .or_default()
            .entry(o.change)
            .or_default() += 1;
    }
    let pairs = meta("offset_pairs")?;
    Ok(Change {
        offset_m: [meta("offset_east_m")?, meta("offset_north_m")?],
        offset_pairs: if pairs >= 0.0 && pairs.fract() == 0.0 {
            pairs as usize
        } else {
            return Err(format!("metadata `offset_pairs` {pairs} is not a count"));
        },
        tolerance_m: meta("tolerance_m")?,
        objects,
        counts,
    })
}
