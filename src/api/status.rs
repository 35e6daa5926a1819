//! The one place that decides which gRPC status an error becomes.

use tonic::Status;

use crate::engine::EngineError;
use crate::hypergraph::GraphError;
use crate::validate::InputError;

impl From<InputError> for Status {
    fn from(err: InputError) -> Self {
        Status::invalid_argument(err.to_string())
    }
}

impl From<GraphError> for Status {
    fn from(err: GraphError) -> Self {
        match err {
            GraphError::Full { .. } => Status::resource_exhausted(err.to_string()),
            GraphError::TooManyContexts { .. } => Status::invalid_argument(err.to_string()),
            GraphError::UnknownVertex | GraphError::NotEmpty => Status::internal(err.to_string()),
        }
    }
}

impl From<EngineError> for Status {
    fn from(err: EngineError) -> Self {
        match err {
            EngineError::Graph(graph) => graph.into(),
            EngineError::Log(_) | EngineError::Storage(_) => Status::unavailable(format!(
                "{err}; the interaction was not acknowledged, retry against a healthy server"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    #[test]
    fn input_errors_are_invalid_argument_with_the_field_named() {
        let status = Status::from(crate::validate::id("customer_id", "").unwrap_err());
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().starts_with("customer_id: "));
    }

    #[test]
    fn a_full_graph_is_resource_exhausted() {
        let status = Status::from(GraphError::Full { what: "hyperedges" });
        assert_eq!(status.code(), Code::ResourceExhausted);
    }
}
