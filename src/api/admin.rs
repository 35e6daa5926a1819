//! `hyperrec.v1.AdminService`: what the server holds.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::pb::{self, admin_service_server::AdminService};
use crate::engine::Engine;

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
}
