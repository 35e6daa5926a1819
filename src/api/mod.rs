//! The gRPC border: the only module that imports tonic and the generated
//! types. Handlers validate, convert, call the engine and convert back;
//! [`status`] decides every error's gRPC code.

mod admin;
mod convert;
mod decision;
pub mod pb;
mod status;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;
use tracing::info;

use crate::engine::Engine;
use admin::AdminApi;
use decision::DecisionApi;
use pb::admin_service_server::AdminServiceServer;
use pb::decision_service_server::DecisionServiceServer;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("building the reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("serving gRPC: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("reading the listen address: {0}")]
    Address(#[from] std::io::Error),
}

/// Serves the decision, admin, health and reflection services on
/// `listener` until `shutdown` completes, then lets calls in flight finish.
pub async fn serve(
    listener: TcpListener,
    engine: Arc<Engine>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    serve_with(listener, engine, ServeOptions::default(), shutdown).await
}

/// Border settings of the gRPC server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Recommend calls in flight before new ones are refused.
    pub max_concurrent: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            max_concurrent: crate::config::ServingConfig::default().max_concurrent,
        }
    }
}

/// [`serve`] with explicit border settings.
pub async fn serve_with(
    listener: TcpListener,
    engine: Arc<Engine>,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<DecisionServiceServer<DecisionApi>>()
        .await;
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let address = listener.local_addr()?;
    info!(%address, "serving grpc");
    // No Nagle: a small answer must not wait for the client's delayed ACK
    // (up to 40 ms on Linux), which would dominate the latency tail.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    Server::builder()
        .add_service(DecisionServiceServer::new(DecisionApi::new(
            Arc::clone(&engine),
            options.max_concurrent,
        )))
        .add_service(AdminServiceServer::new(AdminApi::new(engine)))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    info!("grpc server stopped");
    Ok(())
}
