//! Map coordinates to WGS84 with satdet's reprojection, one point per line: reads
//! `EPSG X Y` lines on stdin, writes `EPSG LON LAT` (or `EPSG ERR reason`) on stdout.
//! `scripts/crs/sweep.sh` feeds it every EPSG system to compare with PROJ.
//!
//! ```sh
//! echo "32633 500000 5000000" | cargo run --example reproject
//! ```

use satdet::geo::{MapPoint, ToWgs84};
use satdet::Crs;
use std::collections::HashMap;
use std::io::{BufRead, Write};

fn main() -> std::io::Result<()> {
    let mut cache: HashMap<u16, Result<ToWgs84, String>> = HashMap::new();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let f: Vec<&str> = line.split_whitespace().collect();
        let parsed = match f.as_slice() {
            [c, x, y] => c
                .parse::<u16>()
                .ok()
                .zip(x.parse::<f64>().ok().zip(y.parse().ok())),
            _ => None,
        };
        let Some((code, (x, y))) = parsed else {
            writeln!(out, "? ERR not `EPSG X Y`: {line}")?;
            continue;
        };
        let to = cache
            .entry(code)
            .or_insert_with(|| ToWgs84::new(&Crs::Epsg(code)).map_err(|e| e.to_string()));
        match to.as_ref().map(|t| t.point(MapPoint { x, y })) {
            Ok(Ok(ll)) => writeln!(out, "{code} {:.10} {:.10}", ll.lon, ll.lat)?,
            Ok(Err(e)) => writeln!(out, "{code} ERR {e}")?,
            Err(e) => writeln!(out, "{code} ERR {e}")?,
        }
    }
    out.flush()
}
