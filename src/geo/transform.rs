//! The affine pixel → map transform, with named fields (no `[f64; 6]` ordering trap).

use super::{MapPoint, PixelPoint};

/// How GeoTIFF raster coordinates refer to a pixel (GTRasterTypeGeoKey).
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RasterType {
    /// A tiepoint names the top-left *corner* of a pixel (GDAL's default).
    PixelIsArea,
    /// A tiepoint names the *centre* of a pixel.
    PixelIsPoint,
}

/// `map = origin + col * per_col + row * per_row`, with (col, row) continuous pixel
/// coordinates in the PixelIsArea convention: (0, 0) is the top-left corner of the
/// top-left pixel.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoTransform {
    /// Map x of pixel corner (0, 0).
    pub x_origin: f64,
    /// Map x change per column (GDAL `gt[1]`).
    pub x_per_col: f64,
    /// Map x change per row (GDAL `gt[2]`, rotation/skew).
    pub x_per_row: f64,
    /// Map y of pixel corner (0, 0).
    pub y_origin: f64,
    /// Map y change per column (GDAL `gt[4]`, rotation/skew).
    pub y_per_col: f64,
    /// Map y change per row (GDAL `gt[5]`, negative for north-up).
    pub y_per_row: f64,
}

impl GeoTransform {
    /// A north-up transform from the top-left corner and the pixel size (`pixel_h` positive;
    /// rows go south).
    pub fn north_up(x_origin: f64, y_origin: f64, pixel_w: f64, pixel_h: f64) -> Self {
        GeoTransform {
            x_origin,
            x_per_col: pixel_w,
            x_per_row: 0.0,
            y_origin,
            y_per_col: 0.0,
            y_per_row: -pixel_h,
        }
    }

    /// From GDAL's ordering `[x0, dx/dcol, dx/drow, y0, dy/dcol, dy/drow]`.
    pub fn from_gdal(gt: [f64; 6]) -> Self {
        GeoTransform {
            x_origin: gt[0],
            x_per_col: gt[1],
            x_per_row: gt[2],
            y_origin: gt[3],
            y_per_col: gt[4],
            y_per_row: gt[5],
        }
    }

    /// To GDAL's ordering.
    pub fn to_gdal(&self) -> [f64; 6] {
        [
            self.x_origin,
            self.x_per_col,
            self.x_per_row,
            self.y_origin,
            self.y_per_col,
            self.y_per_row,
        ]
    }

    /// Converts a transform whose origin refers to pixel centres (PixelIsPoint) to the area
    /// convention used everywhere in satdet, as GDAL does: shift by half a pixel. This is the
    /// one place the half-pixel rule lives.
    pub fn with_raster_type(self, raster_type: RasterType) -> Self {
        match raster_type {
            RasterType::PixelIsArea => self,
            RasterType::PixelIsPoint => GeoTransform {
                x_origin: self.x_origin - 0.5 * self.x_per_col - 0.5 * self.x_per_row,
                y_origin: self.y_origin - 0.5 * self.y_per_col - 0.5 * self.y_per_row,
                ..self
            },
        }
    }

    /// Map coordinates of a pixel position.
    pub fn pixel_to_map(&self, p: PixelPoint) -> MapPoint {
        MapPoint {
            x: self.x_origin + p.x * self.x_per_col + p.y * self.x_per_row,
            y: self.y_origin + p.x * self.y_per_col + p.y * self.y_per_row,
        }
    }

    /// The determinant of the linear part (signed pixel area in map units²).
    pub fn determinant(&self) -> f64 {
        self.x_per_col * self.y_per_row - self.x_per_row * self.y_per_col
    }

    /// Pixel position of a map point, or `None` when the transform is singular.
    pub fn map_to_pixel(&self, m: MapPoint) -> Option<PixelPoint> {
        let det = self.determinant();
        if !det.is_finite() || det.abs() < f64::MIN_POSITIVE {
            return None;
        }
        let dx = m.x - self.x_origin;
        let dy = m.y - self.y_origin;
        Some(PixelPoint {
            x: (dx * self.y_per_row - dy * self.x_per_row) / det,
            y: (dy * self.x_per_col - dx * self.y_per_col) / det,
        })
    }

    /// True when every coefficient is finite and the transform is invertible.
    pub fn is_valid(&self) -> bool {
        self.to_gdal().iter().all(|v| v.is_finite()) && self.determinant().abs() > 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pixel_is_point_shifts_half_a_pixel() {
        let t = GeoTransform::north_up(1000.0, 2000.0, 0.5, 0.5)
            .with_raster_type(RasterType::PixelIsPoint);
        assert_eq!(t.x_origin, 999.75);
        assert_eq!(t.y_origin, 2000.25);
    }

    #[test]
    fn singular_transform_has_no_inverse() {
        let t = GeoTransform::from_gdal([0.0, 1.0, 1.0, 0.0, 1.0, 1.0]);
        assert!(t.map_to_pixel(MapPoint { x: 1.0, y: 1.0 }).is_none());
        assert!(!t.is_valid());
    }

    proptest! {
        #[test]
        fn round_trip_pixel_map_pixel(
            x0 in -1e6f64..1e6, y0 in -1e7f64..1e7,
            a in 0.05f64..100.0, e in 0.05f64..100.0,
            b in -5.0f64..5.0, d in -5.0f64..5.0,
            px in 0.0f64..1e5, py in 0.0f64..1e5,
        ) {
            let t = GeoTransform::from_gdal([x0, a, b, y0, d, -e]);
            prop_assume!(t.determinant().abs() > 1e-3);
            let m = t.pixel_to_map(PixelPoint { x: px, y: py });
            let p = t.map_to_pixel(m).expect("invertible");
            prop_assert!((p.x - px).abs() < 1e-6 * (1.0 + px), "{} vs {}", p.x, px);
            prop_assert!((p.y - py).abs() < 1e-6 * (1.0 + py), "{} vs {}", p.y, py);
        }
    }
}
