//! Shapes and their areas.
mod geometry;
pub mod util;

pub use crate::geometry::Circle;
use self::util::{clamp, Unit as U};

/// Total area of the circles.
pub fn total_area(cs: &[Circle]) -> f64 {
    cs.iter().map(|c| clamp(c.area(), 0.0, 1e9)).sum()
}
