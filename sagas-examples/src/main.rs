//! `sagas`: runs the sample sagas. See `sagas --help`.

fn main() -> std::process::ExitCode {
    sagas_examples::run_program()
}
