use std::fmt::Write;

/// Shape has an area.
pub trait Shape {
    fn area(&self) -> f64;
}

pub struct Rect {
    w: f64,
    h: f64,
}

impl Shape for Rect {
    fn area(&self) -> f64 {
        self.w * self.h
    }
}

pub fn describe<'a>(shapes: &'a [Box<dyn Shape>]) -> String {
    let mut out = String::new();
    for (i, s) in shapes.iter().enumerate() {
        if s.area() > 10.0 {
            writeln!(out, "{}: big", i).unwrap();
        } else {
            out.push_str(r#"small "raw" {"#);
            out.push('}');
        }
    }
    /* block /* nested */ comment */
    match out.len() {
        0 => String::from("empty"),
        _ => out,
    }
}
