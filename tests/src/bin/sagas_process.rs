//! The `sagas` program, built in this crate so that its tests can start it
//! as a real process (`CARGO_BIN_EXE_sagas_process`): the same entry point
//! as `sagas-examples`' `sagas` binary.

fn main() -> std::process::ExitCode {
    sagas_examples::run_program()
}
