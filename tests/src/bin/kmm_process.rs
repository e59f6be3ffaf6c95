//! The `kmm` program, built in this crate so that its tests can start it
//! as a real process (`CARGO_BIN_EXE_kmm_process`): the same entry point
//! as `sagas-examples`' `kmm` binary.

fn main() -> std::process::ExitCode {
    sagas_examples::kmm::run_program()
}
