//! Work that runs beside the HTTP server until the service stops: restarted after a
//! failure, so a database or broker that goes away delays it, never ends it.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

/// How long a failed run waits before it starts again.
const RESTART_AFTER: Duration = Duration::from_secs(1);

/// Spawns `run` (a projection runner's or a relay's `run`), handing it a shutdown future
/// that resolves when `stopped` turns true; a run that fails is logged with `what` and
/// `name` and started again.
pub(crate) fn spawn_restarting<F, Fut, E>(
    what: &'static str,
    name: &'static str,
    stopped: watch::Receiver<bool>,
    run: F,
) where
    F: Fn(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: Display + Send,
{
    tokio::spawn(async move {
        loop {
            let mut stop = stopped.clone();
            let shutdown = Box::pin(async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            });
            match run(shutdown).await {
                Ok(()) => return,
                Err(error) => {
                    tracing::error!(%error, what, name, "stopped; restarting");
                    tokio::time::sleep(RESTART_AFTER).await;
                }
            }
        }
    });
}
