mod circle;

pub use circle::Circle;
