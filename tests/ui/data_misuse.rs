// `#[zocket::data]` goes on structs and enums, takes no arguments, and does
// the serde derives itself.
#[zocket::data]
pub fn not_a_type() {}

#[zocket::data(strict)]
pub struct Args {
    pub a: u8,
}

#[zocket::data]
#[derive(serde::Serialize)]
pub struct Derived {
    pub a: u8,
}

fn main() {}
