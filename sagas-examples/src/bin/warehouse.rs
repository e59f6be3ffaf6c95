//! `warehouse`: the warehouse sample on NATS JetStream. See
//! `warehouse --help`.

fn main() -> std::process::ExitCode {
    sagas_examples::warehouse::run_program()
}
