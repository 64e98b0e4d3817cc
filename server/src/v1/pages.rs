//! Server streams of pages: a lazy engine iterator walked on a blocking thread and
//! sent a page at a time through a bounded channel (flat memory whatever the size).

use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::batch::shutting_down;
use crate::error::status;
use crate::v1::chunks::IN_FLIGHT;
use crate::BoxStream;

/// Sends the items of `items` as pages of `size`, each made by `page`; an engine
/// error ends the stream with its status, a shutdown with UNAVAILABLE, and a client
/// that goes away stops the walk.
pub fn stream_pages<T, M>(
    items: impl Iterator<Item = buffdb::Result<T>> + Send + 'static,
    size: usize,
    shutdown: watch::Receiver<bool>,
    page: fn(Vec<T>) -> M,
) -> BoxStream<M>
where
    T: Send + 'static,
    M: Send + 'static,
{
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let mut items_in_page = Vec::with_capacity(size);
        for item in items {
            if *shutdown.borrow() {
                let _ = tx.blocking_send(Err(shutting_down()));
                return;
            }
            match item {
                Ok(item) => items_in_page.push(item),
                Err(e) => {
                    let _ = tx.blocking_send(Err::<M, Status>(status(e)));
                    return;
                }
            }
            if items_in_page.len() == size && tx.blocking_send(Ok(page(std::mem::take(&mut items_in_page)))).is_err() {
                return; // the client went away
            }
        }
        if !items_in_page.is_empty() {
            let _ = tx.blocking_send(Ok(page(items_in_page)));
        }
    });
    Box::pin(ReceiverStream::new(rx))
}
