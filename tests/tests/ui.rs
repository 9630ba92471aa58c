//! Compile-time tests of `#[event]`, `#[derive(Aggregate)]` and `#[projection]`: every
//! diagnostic has a `ui/<macro>/fail/<what-went-wrong>.rs` with its expected `.stderr`, and
//! the inputs in `ui/<macro>/pass/` compile and run. `TRYBUILD=overwrite` regenerates the
//! `.stderr` files.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/event/pass/*.rs");
    cases.pass("ui/aggregate/pass/*.rs");
    cases.pass("ui/projection/pass/*.rs");
    cases.compile_fail("ui/event/fail/*.rs");
    cases.compile_fail("ui/aggregate/fail/*.rs");
    cases.compile_fail("ui/projection/fail/*.rs");
}
