//! `hyperrec.v1.DecisionService`: shed, validate, convert, call the engine,
//! convert back, count.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;
use tonic::{Code, Request, Response, Status, Streaming};
use tracing::{debug, instrument};

use super::convert;
use super::pb::{self, decision_service_server::DecisionService};
use crate::engine::Engine;
use crate::metrics::{CodeLabels, RpcLabels};
use crate::resilience::budget::{parse_grpc_timeout, Budget};
use crate::validate::now_ms;

/// How many rejections a StreamAck lists; the count covers all of them.
const MAX_LISTED_REJECTIONS: usize = 100;

pub struct DecisionApi {
    engine: Arc<Engine>,
    /// Recommend calls in flight; a call that finds none free is refused.
    in_flight: Arc<Semaphore>,
    max_in_flight: usize,
}

impl DecisionApi {
    pub fn new(engine: Arc<Engine>, max_in_flight: usize) -> Self {
        Self {
            engine,
            in_flight: Arc::new(Semaphore::new(max_in_flight)),
            max_in_flight,
        }
    }

    /// Counts one finished call.
    fn observe(&self, rpc: &'static str, source: &'static str, code: Code, started: Instant) {
        let code = code_name(code);
        let metrics = self.engine.metrics();
        metrics
            .rpc_duration
            .get_or_create(&RpcLabels { rpc, source, code })
            .observe(started.elapsed().as_secs_f64());
        metrics
            .rpc_requests
            .get_or_create(&CodeLabels { rpc, code })
            .inc();
    }

    async fn answer(
        &self,
        request: Request<pb::RecommendRequest>,
        started: Instant,
    ) -> Result<(pb::RecommendResponse, &'static str), Status> {
        let Ok(_permit) = self.in_flight.try_acquire() else {
            self.engine.metrics().shed.inc();
            return Err(Status::resource_exhausted(format!(
                "server overloaded: {} Recommend calls already in flight; retry with backoff",
                self.max_in_flight
            )));
        };
        let client_deadline = request
            .metadata()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_grpc_timeout);
        let budget = Budget::new(self.engine.budget(), client_deadline);
        let query = convert::query(request.get_ref(), now_ms())?;
        let decision = self
            .engine
            .recommend_within(&query, budget)
            .await
            .map_err(|e| Status::deadline_exceeded(e.to_string()))?;
        debug!(
            source = decision.source.as_str(),
            items = decision.items.len(),
            "recommended"
        );
        let elapsed_us = started.elapsed().as_micros() as i64;
        let source = decision.source.as_str();
        Ok((convert::decision(&decision, elapsed_us), source))
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
        match self.answer(request, started).await {
            Ok((response, source)) => {
                self.observe("Recommend", source, Code::Ok, started);
                Ok(Response::new(response))
            }
            Err(status) => {
                self.observe("Recommend", "none", status.code(), started);
                Err(status)
            }
        }
    }

    #[instrument(skip_all)]
    async fn record_interaction(
        &self,
        request: Request<pb::Interaction>,
    ) -> Result<Response<pb::RecordAck>, Status> {
        let started = Instant::now();
        let result = self.record_one(request.get_ref()).await;
        let code = result.as_ref().map_or_else(Status::code, |_| Code::Ok);
        self.observe("RecordInteraction", "none", code, started);
        result.map(Response::new)
    }

    #[instrument(skip_all)]
    async fn stream_interactions(
        &self,
        request: Request<Streaming<pb::Interaction>>,
    ) -> Result<Response<pb::StreamAck>, Status> {
        let started = Instant::now();
        let result = self.record_stream(request.into_inner()).await;
        let code = result.as_ref().map_or_else(Status::code, |_| Code::Ok);
        self.observe("StreamInteractions", "none", code, started);
        result.map(Response::new)
    }
}

impl DecisionApi {
    async fn record_one(&self, message: &pb::Interaction) -> Result<pb::RecordAck, Status> {
        let (edge, event_id) = convert::interaction(message, now_ms()).inspect_err(|_| {
            self.engine.count_ingest("rejected");
        })?;
        let recorded = self.engine.record(&edge, event_id.as_deref())?;
        self.engine.wait_durable(recorded.sequence).await?;
        debug!(
            sequence = recorded.sequence,
            duplicate = recorded.duplicate,
            "recorded"
        );
        Ok(pb::RecordAck {
            sequence: recorded.sequence,
            duplicate: recorded.duplicate,
        })
    }

    async fn record_stream(
        &self,
        mut stream: Streaming<pb::Interaction>,
    ) -> Result<pb::StreamAck, Status> {
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
                    self.engine.count_ingest("rejected");
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
        Ok(ack)
    }
}

/// The gRPC code as SREs see it in dashboards.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::Unavailable => "UNAVAILABLE",
        Code::Internal => "INTERNAL",
        _ => "OTHER",
    }
}
