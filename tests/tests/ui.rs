//! Every compile error a user of `#[zocket::router]` can hit, with the
//! message and span they see (`ui/*.stderr`), and code that must compile
//! without a warning (`ui-pass/`).

#[test]
fn compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
    // And what must compile cleanly (e.g. under `#![deny(missing_docs)]`).
    t.pass("ui-pass/*.rs");
}
