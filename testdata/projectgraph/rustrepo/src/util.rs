/// Limits v to [lo, hi].
pub fn clamp(v: f64, lo: f64, hi: f64) -> f64 {
    v.max(lo).min(hi)
}

pub enum Unit {
    Metre,
}

pub const EPSILON: f64 = 1e-9;

pub trait Shape {
    fn area(&self) -> f64;
}
