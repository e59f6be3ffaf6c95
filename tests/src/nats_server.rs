//! NATS for tests: a `nats-server` process of a test's own, which it can
//! stop and start again on the same port and store (to test what survives
//! an outage), and the shared server for tests that need not restart it.

use std::io::Read as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What a test says when it cannot start a NATS server of its own.
pub const HOW_TO_PROVIDE_NATS_SERVER: &str = "these tests start their own nats-server with \
     JetStream: install it (scripts/ensure-nats installs Debian's package) or set NATS_SERVER \
     to its path";

/// What a test says when the shared NATS server does not answer.
pub const HOW_TO_PROVIDE_NATS: &str = "these tests need NATS with JetStream at NATS_URL \
     (default nats://127.0.0.1:4222): start it with scripts/ensure-nats";

/// How long a server may take to answer once started.
const READY_WITHIN: Duration = Duration::from_secs(15);

/// How long a server may take to stop once asked.
const STOPPED_WITHIN: Duration = Duration::from_secs(10);

/// A `nats-server` with JetStream on a free loopback port, storing in a
/// directory of its own; killed, and its directory removed, when dropped.
#[derive(Debug)]
pub struct NatsServer {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl NatsServer {
    /// Starts a server and waits until it answers.
    ///
    /// # Panics
    /// When `nats-server` cannot be started or does not answer in time,
    /// saying how to provide it.
    pub async fn start() -> Self {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let dir = std::env::temp_dir().join(format!("es-nats-{}", eventstore_core::EventId::new()));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot make the store directory {}: {e}", dir.display()));
        let mut server = Self {
            port,
            dir,
            child: None,
        };
        server.start_again().await;
        server
    }

    /// The URL clients connect to.
    #[must_use]
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server again, on the same port and store, and waits until
    /// it answers.
    ///
    /// # Panics
    /// When it is running, cannot be started, or does not answer in time.
    pub async fn start_again(&mut self) {
        assert!(
            self.child.is_none(),
            "the NATS server on {} runs already",
            self.port
        );
        let binary = std::env::var("NATS_SERVER").unwrap_or_else(|_| {
            let installed = "/usr/sbin/nats-server";
            if std::path::Path::new(installed).exists() {
                installed
            } else {
                "nats-server"
            }
            .to_owned()
        });
        let child = Command::new(&binary)
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}; {HOW_TO_PROVIDE_NATS_SERVER}"));
        self.child = Some(child);
        let started = Instant::now();
        while !self.answers() {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "{binary} on port {} exited with {status}; {HOW_TO_PROVIDE_NATS_SERVER}",
                    self.port
                );
            }
            assert!(
                started.elapsed() < READY_WITHIN,
                "{binary} did not answer on port {} within {READY_WITHIN:?}; {HOW_TO_PROVIDE_NATS_SERVER}",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether the server sends its `INFO` line to a new connection.
    fn answers(&self) -> bool {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let Ok(mut connection) = TcpStream::connect_timeout(&address, Duration::from_millis(200))
        else {
            return false;
        };
        let _ = connection.set_read_timeout(Some(Duration::from_millis(500)));
        let mut start = [0_u8; 5];
        connection.read_exact(&mut start).is_ok() && &start == b"INFO "
    }

    /// Stops the server as an operator would (SIGTERM: it closes its
    /// clients' connections and flushes its store), killing it if it has
    /// not stopped within 10 s, and waits until it has.
    ///
    /// A SIGKILL would lose what the server acknowledged and had not yet
    /// written out: that is the server's durability, not what these tests
    /// are about.
    ///
    /// # Panics
    /// When it is not running.
    pub async fn stop(&mut self) {
        let mut child = self.child.take().expect("the NATS server runs");
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let asked = Instant::now();
        while child.try_wait().ok().flatten().is_none() {
            if asked.elapsed() > STOPPED_WITHIN {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The shared NATS server's URL: `NATS_URL`, by default
/// `nats://127.0.0.1:4222`.
#[must_use]
pub fn shared_url() -> String {
    std::env::var("NATS_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| "nats://127.0.0.1:4222".to_owned())
}

/// A JetStream context on the shared server.
///
/// # Panics
/// When it does not answer within 5 s, saying how to provide it.
pub async fn shared_jetstream() -> async_nats::jetstream::Context {
    let url = shared_url();
    let client = tokio::time::timeout(Duration::from_secs(5), async_nats::connect(&url))
        .await
        .unwrap_or_else(|_| {
            panic!("NATS at {url} did not answer within 5 s; {HOW_TO_PROVIDE_NATS}")
        })
        .unwrap_or_else(|e| panic!("cannot connect to NATS at {url}: {e}; {HOW_TO_PROVIDE_NATS}"));
    async_nats::jetstream::new(client)
}
