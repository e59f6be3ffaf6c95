//! `kmm`: the kids' money manager, served over NATS. See `kmm --help`.

fn main() -> std::process::ExitCode {
    sagas_examples::kmm::run_program()
}
