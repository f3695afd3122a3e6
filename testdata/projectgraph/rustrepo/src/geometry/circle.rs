use super::super::util::clamp;

/// A circle of a radius.
pub struct Circle {
    pub r: f64,
}

impl Circle {
    /// The area of the circle.
    pub fn area(&self) -> f64 {
        clamp(std::f64::consts::PI * self.r * self.r, 0.0, f64::MAX)
    }
}
