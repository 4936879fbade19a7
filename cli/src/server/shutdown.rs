//! Stopping: draining open connections after shutdown is requested, and the
//! binary's SIGINT/SIGTERM handling.

use std::future::Future;
use std::io;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tracing::{info, warn};

use super::accept::reap;

/// Exit status when a second signal cuts the drain short (128 + SIGINT,
/// as shells report an interrupted command).
pub(super) const FORCED_EXIT: i32 = 130;

/// Lets open connections finish for up to `timeout`, then closes the rest
/// (their trackers count them as closed at the drain timeout).
pub(super) async fn drain(connections: &mut JoinSet<()>, timeout: Duration) {
    if connections.is_empty() {
        return;
    }
    info!(
        "waiting up to {timeout:?} for {} open connection(s) to finish",
        connections.len()
    );
    let finished = tokio::time::timeout(timeout, async {
        while let Some(joined) = connections.join_next().await {
            reap(joined);
        }
    })
    .await;
    if finished.is_err() {
        warn!(
            "drain timeout: closing {} connection(s) still open",
            connections.len()
        );
        connections.shutdown().await;
    }
}

/// Installs SIGINT and SIGTERM handlers and returns a future that resolves
/// on the first of them. A second signal exits the process at once with
/// status [`FORCED_EXIT`], for an operator who will not wait for the drain.
pub(super) fn on_signal() -> io::Result<impl Future<Output = ()>> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        info!("received {name}: shutting down (a second signal exits at once)");
        let _ = stop.send(());
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        warn!("received {name} again: exiting now without draining");
        std::process::exit(FORCED_EXIT);
    });
    Ok(async move {
        let _ = stopped.await;
    })
}
