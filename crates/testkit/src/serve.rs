//! One way to put a router on a socket for a test: `127.0.0.1:0`, stopped
//! when the guard drops.

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::Router;

/// A router served on loopback; the server stops (gracefully) on drop.
#[derive(Debug)]
pub struct Served {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The bound address.
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Serves `router` on a fresh port: on the current tokio runtime when called
/// from one (so the router's parts share its reactor), else on [`runtime`].
pub fn serve(router: Router) -> Served {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    serve_on(listener, router)
}

/// Like [`serve`] on a listener the caller bound first (when the address
/// must be known before the router is built, e.g. for an OAuth redirect).
pub fn serve_on(listener: std::net::TcpListener, router: Router) -> Served {
    let addr = listener.local_addr().expect("bound address");
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    };
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => drop(handle.spawn(task)),
        Err(_) => drop(runtime().spawn(task)),
    }
    Served {
        url: format!("http://{addr}"),
        addr,
        shutdown: Some(tx),
    }
}

/// One shared runtime for the servers of synchronous tests.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}
