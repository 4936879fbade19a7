//! The real HAProxy (Debian's package; `.ci/run` installs it) in front of
//! `upcase serve --proxy-protocol`: TCP mode, `send-proxy-v2`, health checks.
//! Used by `ops_haproxy` and `tls`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `haproxy` from PATH, if installed.
pub fn find_haproxy() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into()])
        .map(|dir| dir.join("haproxy"))
        .find(|candidate| candidate.is_file())
}

/// A running HAProxy in the foreground, killed when dropped.
pub struct Haproxy {
    child: Child,
    pub frontend: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    _dir: TempDir,
}

impl Haproxy {
    /// Starts HAProxy in front of `servers` on a free loopback port,
    /// retrying with another port if that one was taken meanwhile.
    pub fn start(binary: &PathBuf, servers: &[SocketAddr]) -> Self {
        let mut last_log = String::new();
        for attempt in 0..5 {
            let dir = TempDir::new(&format!("haproxy-{attempt}"));
            // HAProxy cannot bind port 0: take a free port from the OS and
            // hand it over (a race another process could win: retried).
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let frontend: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            let config = dir.path.join("haproxy.cfg");
            std::fs::write(&config, haproxy_config(frontend, servers)).unwrap();
            let mut child = Command::new(binary)
                .arg("-db") // foreground, no daemon
                .arg("-f")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn haproxy");
            let log = Arc::new(Mutex::new(Vec::new()));
            let sink = Arc::clone(&log);
            let stderr = child.stderr.take().unwrap();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    sink.lock().unwrap().push(line);
                }
            });
            let mut proxy = Self {
                child,
                frontend,
                log,
                _dir: dir,
            };
            // Up once the frontend accepts; failed if the process exited.
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Some(status) = proxy.child.try_wait().unwrap() {
                    last_log = format!("haproxy exited ({status}):\n{}", proxy.log_text());
                    break;
                }
                if std::net::TcpStream::connect(frontend).is_ok() {
                    return proxy;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            eprintln!("haproxy attempt {attempt} on port {port} failed: {last_log}");
        }
        panic!("haproxy did not start: {last_log}");
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- haproxy log ---\n{}\n--- end ---", self.log_text());
        }
    }
}

/// Round robin over `servers` with PROXY v2 and fast health checks; a
/// refused connection is retried on another server at once.
fn haproxy_config(frontend: SocketAddr, servers: &[SocketAddr]) -> String {
    let mut config = format!(
        "global
    nbthread 1
    maxconn 512

defaults
    mode tcp
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    timeout check 1s
    retries 3
    option redispatch 1

frontend upcase
    bind {frontend}
    default_backend upcase

backend upcase
    balance roundrobin
"
    );
    for (i, server) in servers.iter().enumerate() {
        config.push_str(&format!(
            "    server s{i} {server} send-proxy-v2 check inter 200ms fall 1 rise 2\n"
        ));
    }
    config
}

/// A directory removed when dropped.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let path = std::env::temp_dir().join(format!("upcase-ops-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
