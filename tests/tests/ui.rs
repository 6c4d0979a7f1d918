//! Every compile error a user of `#[zocket::router]` can hit, with the
//! message and span they see (`ui/*.stderr`).

#[test]
fn compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
}
