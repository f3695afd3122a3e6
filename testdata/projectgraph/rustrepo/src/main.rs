use shapes::util::clamp;
use std::io;

fn main() {
    println!("{}", clamp(2.0, 0.0, 1.0));
}
