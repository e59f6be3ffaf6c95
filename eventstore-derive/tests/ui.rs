//! Compile tests of the derives: what compiles, and the errors users see.
//! Regenerate the `.stderr` snapshots with `TRYBUILD=overwrite cargo test -p
//! eventstore-derive --test ui`, then read every one as a user would.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/*/pass/*.rs");
    cases.compile_fail("tests/ui/*/fail/*.rs");
}
