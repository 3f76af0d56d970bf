//! Tests that cannot run here (no ffmpeg, no MPI, an adapter without a feature): a failure
//! where the environment says the prerequisite must be there (.ci/run sets the variables),
//! a visible note everywhere else.

use std::io::Write;

/// Skip `test` because `why`; panic instead when the environment variable `require` is 1.
/// The note goes straight to stderr: libtest hides `eprintln!` of a passing test.
pub fn skip(test: &str, why: &str, require: &str) {
    if std::env::var(require).is_ok_and(|v| v == "1") {
        panic!("{require}=1 but {test} cannot run: {why}");
    }
    let _ = writeln!(
        std::io::stderr(),
        "SKIP {test}: {why} (with {require}=1 this is a failure)"
    );
}
