//! `hyperrec.v1.DecisionService`: validate, convert, call the engine,
//! convert back.

use std::sync::Arc;
use std::time::Instant;

use tonic::{Request, Response, Status, Streaming};
use tracing::{debug, instrument};

use super::convert;
use super::pb::{self, decision_service_server::DecisionService};
use crate::engine::Engine;
use crate::validate::now_ms;

/// How many rejections a StreamAck lists; the count covers all of them.
const MAX_LISTED_REJECTIONS: usize = 100;

pub struct DecisionApi {
    engine: Arc<Engine>,
}

impl DecisionApi {
    pub fn new(engine: Arc<Engine>) -> Self {
        Self { engine }
    }
}

#[tonic::async_trait]
impl DecisionService for DecisionApi {
    #[instrument(skip_all, fields(customer = %request.get_ref().customer_id))]
    async fn recommend(
        &self,
        request: Request<pb::RecommendRequest>,
    ) -> Result<Response<pb::RecommendResponse>, Status> {
        let started = Instant::now();
        let query = convert::query(request.get_ref(), now_ms())?;
        let decision = self.engine.recommend(&query);
        debug!(
            source = decision.source.as_str(),
            items = decision.items.len(),
            "recommended"
        );
        let elapsed_us = started.elapsed().as_micros() as i64;
        Ok(Response::new(convert::decision(decision, elapsed_us)))
    }

    #[instrument(skip_all)]
    async fn record_interaction(
        &self,
        request: Request<pb::Interaction>,
    ) -> Result<Response<pb::RecordAck>, Status> {
        let (edge, event_id) = convert::interaction(request.get_ref(), now_ms())?;
        let recorded = self.engine.record(&edge, event_id.as_deref())?;
        self.engine.wait_durable(recorded.sequence).await?;
        debug!(
            sequence = recorded.sequence,
            duplicate = recorded.duplicate,
            "recorded"
        );
        Ok(Response::new(pb::RecordAck {
            sequence: recorded.sequence,
            duplicate: recorded.duplicate,
        }))
    }

    #[instrument(skip_all)]
    async fn stream_interactions(
        &self,
        request: Request<Streaming<pb::Interaction>>,
    ) -> Result<Response<pb::StreamAck>, Status> {
        let mut stream = request.into_inner();
        let mut ack = pb::StreamAck::default();
        let mut index = 0u64;
        while let Some(message) = stream.message().await? {
            let outcome = convert::interaction(&message, now_ms())
                .map_err(Status::from)
                .and_then(|(edge, event_id)| {
                    self.engine
                        .record(&edge, event_id.as_deref())
                        .map_err(Status::from)
                });
            match outcome {
                Ok(recorded) => {
                    ack.accepted += 1;
                    ack.duplicates += recorded.duplicate as u64;
                    ack.last_sequence = ack.last_sequence.max(recorded.sequence);
                }
                Err(status) => {
                    ack.rejected += 1;
                    if ack.rejections.len() < MAX_LISTED_REJECTIONS {
                        ack.rejections.push(pb::Rejection {
                            index,
                            reason: status.message().to_string(),
                        });
                    }
                }
            }
            index += 1;
        }
        // One wait covers the whole stream: the log is written in sequence
        // order, so the last sequence being durable means all of them are.
        self.engine.wait_durable(ack.last_sequence).await?;
        debug!(
            accepted = ack.accepted,
            rejected = ack.rejected,
            "stream recorded"
        );
        Ok(Response::new(ack))
    }
}
