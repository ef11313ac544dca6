//! The HTTP server: the API's router over HTTP/1.1, with the bounds that keep slow or
//! many clients from exhausting the worker. At most `max_connections` connections
//! are open at once (one more is closed at once, and counted); a request's headers
//! must arrive within `header_timeout_secs` of the connection waiting for them
//! (slow-loris clients and idle keep-alive connections are closed); a request body
//! must arrive within `body_timeout_secs` (408 otherwise).

use crate::{config::Limits, metrics::Metrics};
use axum::Router;
use hyper_util::{
	rt::{TokioIo, TokioTimer},
	service::TowerToHyperService,
};
use std::{pin::pin, sync::Arc, time::Duration};
use tokio::{
	net::TcpListener,
	sync::{watch, Semaphore},
	task::JoinSet,
};

/// Serves `router` on `tcp` until `stop` turns true; then stops accepting, lets the
/// requests in progress finish and closes the connections.
pub async fn serve(
	tcp: TcpListener,
	router: Router,
	limits: &Limits,
	metrics: Metrics,
	mut stop: watch::Receiver<bool>,
) {
	let router = router.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
		Duration::from_secs(limits.body_timeout_secs),
	));
	let open = Arc::new(Semaphore::new(limits.max_connections.max(1)));
	let header_timeout = Duration::from_secs(limits.header_timeout_secs);
	let mut connections = JoinSet::new();
	loop {
		let (stream, _peer) = tokio::select! {
			_ = stopped(&mut stop) => break,
			Some(_) = connections.join_next(), if !connections.is_empty() => continue,
			accepted = tcp.accept() => match accepted {
				Ok(accepted) => accepted,
				Err(e) => {
					// Out of file descriptors, or the peer gone before accept: wait a
					// moment instead of spinning.
					tracing::warn!(error = %e, "accepting a connection failed");
					tokio::time::sleep(Duration::from_millis(50)).await;
					continue;
				},
			},
		};
		let Ok(permit) = open.clone().try_acquire_owned() else {
			metrics.refused_connections.inc();
			drop(stream);
			continue;
		};
		metrics.open_connections.inc();
		let (service, metrics, mut stop) =
			(TowerToHyperService::new(router.clone()), metrics.clone(), stop.clone());
		connections.spawn(async move {
			let _permit = permit;
			let mut builder = hyper::server::conn::http1::Builder::new();
			builder.timer(TokioTimer::new()).header_read_timeout(header_timeout);
			let mut conn = pin!(builder.serve_connection(TokioIo::new(stream), service));
			let result = tokio::select! {
				r = conn.as_mut() => r,
				_ = stopped(&mut stop) => {
					conn.as_mut().graceful_shutdown();
					conn.await
				},
			};
			if let Err(e) = result {
				tracing::debug!(error = %e, "connection closed");
			}
			metrics.open_connections.dec();
		});
	}
	while connections.join_next().await.is_some() {}
}

/// Resolves once `stop` is true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
	let _ = stop.wait_for(|s| *s).await;
}
