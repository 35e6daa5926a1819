//! `hyperrec.v1.AdminService`: what the server holds, and its models.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::pb::{self, admin_service_server::AdminService};
use crate::engine::Engine;
use crate::models::{ModelError, Registry};

pub struct AdminApi {
    engine: Arc<Engine>,
}

impl AdminApi {
    pub fn new(engine: Arc<Engine>) -> Self {
        Self { engine }
    }
}

#[tonic::async_trait]
impl AdminService for AdminApi {
    async fn get_graph_stats(
        &self,
        _request: Request<pb::GetGraphStatsRequest>,
    ) -> Result<Response<pb::GraphStats>, Status> {
        let graph = self.engine.graph();
        let stats = graph.stats();
        Ok(Response::new(pb::GraphStats {
            hyperedges: stats.hyperedges,
            customers: stats.customers,
            products: stats.products,
            context_values: stats.context_values,
            intents: stats.intents,
            time_buckets: stats.time_buckets,
            last_sequence: graph.last_sequence(),
            graph_bytes: stats.used_bytes,
        }))
    }

    async fn reload_models(
        &self,
        request: Request<pb::ReloadModelsRequest>,
    ) -> Result<Response<pb::ModelStatus>, Status> {
        let registry = Arc::clone(self.engine.models());
        let path = match request.into_inner().path.trim() {
            "" => registry.config().dir.clone().ok_or_else(|| {
                Status::invalid_argument(
                    "path is empty and no models.dir is configured; give a path",
                )
            })?,
            p => std::path::PathBuf::from(p),
        };
        if !path.exists() {
            return Err(Status::not_found(format!(
                "{} does not exist",
                path.display()
            )));
        }
        // Loading reads files and builds the index: off the async workers.
        let loader = Arc::clone(&registry);
        tokio::task::spawn_blocking(move || loader.load(&path))
            .await
            .map_err(|e| Status::internal(format!("model load task failed: {e}")))?
            .map_err(load_status)?;
        Ok(Response::new(status_message(&registry)))
    }

    async fn get_model_status(
        &self,
        _request: Request<pb::GetModelStatusRequest>,
    ) -> Result<Response<pb::ModelStatus>, Status> {
        Ok(Response::new(status_message(self.engine.models())))
    }
}

fn load_status(err: ModelError) -> Status {
    match err {
        ModelError::NoVersion(_) => Status::not_found(err.to_string()),
        _ => Status::failed_precondition(format!("{err}; the model version already serving stays")),
    }
}

fn status_message(registry: &Registry) -> pb::ModelStatus {
    let s = registry.status();
    let features = registry
        .current()
        .and_then(|m| m.ranker.as_ref().map(|r| r.feature_names()))
        .unwrap_or_default();
    pb::ModelStatus {
        version: s.version.unwrap_or_default(),
        path: s.path.map(|p| p.display().to_string()).unwrap_or_default(),
        provider: s
            .provider
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        loaded_at: s.loaded_at.map(prost_types::Timestamp::from),
        load_ms: s.load_ms,
        hnsw_recall_at_10: s.recall_at_10,
        has_ranker: s.has_ranker,
        inferences: s.inferences,
        inference_p50_us: s.inference_us[0],
        inference_p95_us: s.inference_us[1],
        inference_p99_us: s.inference_us[2],
        last_error: s.last_error.unwrap_or_default(),
        ranker_features: features.into_iter().map(str::to_string).collect(),
    }
}
