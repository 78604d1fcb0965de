//! Serving HTTP/1.1 connections with bounded waits: hyper's header-read
//! timer (which on a keep-alive connection also bounds the idle wait for the
//! next request), and a shutdown that drains for a bounded time and then
//! closes what is left, so a stuck client can hold neither a connection nor a
//! SIGTERM forever. The body-read and per-request timeouts are middleware
//! (`crate::app`).
//!
//! HTTP/1.1 only: every client of this API speaks it, and HTTP/2's
//! multiplexed connections have no header timer; put TLS and HTTP/2 in a
//! reverse proxy.

use std::future::Future;
use std::time::Duration;

use crate::config::HttpTuning;
use crate::front::Front;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// Pause after a failed `accept` (e.g. out of file descriptors), so the loop
/// does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `front` on `listener` until `shutdown` resolves; then stops
/// accepting, lets open requests finish for at most
/// [`HttpTuning::shutdown_drain`], and closes the connections left.
pub async fn serve(
    listener: TcpListener,
    front: Front,
    http: &HttpTuning,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(http.header_read_timeout());
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let front = front.clone();
                let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                    front.serve_http(request, peer)
                });
                let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
                connections.spawn(async move {
                    // A client that leaves, times out or breaks the protocol
                    // ends its own connection; nothing to report above debug.
                    if let Err(e) = connection.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            // Reap finished connections so the set stays small.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    let drain = http.shutdown_drain();
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            drain_secs = drain.as_secs_f64(),
            "connections still open after the shutdown drain; closing them"
        );
    }
    connections.shutdown().await;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
