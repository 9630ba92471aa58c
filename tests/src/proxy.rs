//! A TCP proxy for fault tests: it forwards every connection to a target, and can drop
//! all live connections or stall (stop forwarding while keeping the sockets open).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A TCP proxy on 127.0.0.1 to one target. Dropping it stops it and closes its
/// connections.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    /// Bumped to drop every connection open at that moment.
    cut: watch::Sender<u64>,
    stalled: Arc<AtomicBool>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free port of 127.0.0.1 and forwards each connection to `target`.
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a port");
        let addr = listener.local_addr().expect("the proxy's address");
        let (cut, cuts) = watch::channel(0);
        let stalled = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stalled);
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(target).await else {
                    continue;
                };
                tokio::spawn(forward(client, server, cuts.clone(), Arc::clone(&flag)));
            }
        });
        Proxy {
            addr,
            cut,
            stalled,
            accept,
        }
    }

    /// The address to connect to instead of the target.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every connection open now; new ones are accepted again.
    pub fn drop_connections(&self) {
        self.cut.send_modify(|n| *n += 1);
    }

    /// Stops (`true`) or resumes (`false`) forwarding bytes, keeping the sockets open.
    pub fn stall(&self, stalled: bool) {
        self.stalled.store(stalled, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.drop_connections();
    }
}

async fn forward(
    client: TcpStream,
    server: TcpStream,
    mut cuts: watch::Receiver<u64>,
    stalled: Arc<AtomicBool>,
) {
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = pipe(client_read, server_write, Arc::clone(&stalled));
    let down = pipe(server_read, client_write, stalled);
    cuts.mark_unchanged();
    tokio::select! {
        _ = up => {}
        _ = down => {}
        _ = cuts.changed() => {}
    }
}

/// Copies `from` to `to`, holding each chunk back while stalled.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    stalled: Arc<AtomicBool>,
) -> std::io::Result<()> {
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let n = from.read(&mut buffer).await?;
        if n == 0 {
            return Ok(());
        }
        while stalled.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        to.write_all(&buffer[..n]).await?;
    }
}
