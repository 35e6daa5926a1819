//! Short human reasons for a recommendation, built from its evidence.
//!
//! Reasons name only what the evidence really counted: the number of
//! similar customers, how many of them chose the product in a context like
//! the query's, the customer's own uses, a popularity rank, the model's
//! embedding similarity.

use crate::candidates::{Evidence, QueryVertices};
use crate::hypergraph::Hypergraph;

/// The reasons for one recommended product.
pub fn reasons(
    graph: &Hypergraph,
    query: &QueryVertices,
    evidence: &Evidence,
    popular_in_context: bool,
) -> Vec<String> {
    let mut reasons = Vec::new();
    if evidence.similar_customers > 0 {
        let mut text = format!(
            "chosen by {} similar {}",
            evidence.similar_customers,
            plural(evidence.similar_customers, "customer", "customers")
        );
        if evidence.similar_in_context > 0 {
            text.push_str(&format!(
                ", {} of them in a context like this one ({})",
                evidence.similar_in_context,
                describe_context(graph, query)
            ));
        }
        reasons.push(text);
    }
    if evidence.own_uses > 0 {
        reasons.push(format!(
            "you chose it {} {} before, last {}",
            evidence.own_uses,
            plural(evidence.own_uses, "time", "times"),
            ago(query.at_ms - evidence.own_last_at_ms)
        ));
    }
    if evidence.popular_rank > 0 {
        reasons.push(if popular_in_context {
            format!(
                "#{} most popular with {}",
                evidence.popular_rank,
                describe_facets(graph, query)
            )
        } else {
            format!("#{} most popular overall", evidence.popular_rank)
        });
    }
    if evidence.model_similarity > 0.0 {
        let to_what = if query.customer.is_some() {
            "this moment and your recent choices"
        } else {
            "this moment"
        };
        reasons.push(format!(
            "the model matches it to {to_what} (similarity {:.2})",
            evidence.model_similarity
        ));
    }
    reasons
}

/// The query's context values and time bucket, as a reader would say them.
fn describe_context(graph: &Hypergraph, query: &QueryVertices) -> String {
    let mut parts: Vec<String> = query
        .contexts
        .iter()
        .map(|&f| graph.facet_name(f).to_string())
        .collect();
    parts.push(query.time_bucket().to_string());
    parts.join(", ")
}

/// Every known facet of the query, intent included.
fn describe_facets(graph: &Hypergraph, query: &QueryVertices) -> String {
    query
        .facets()
        .into_iter()
        .map(|f| {
            let name = graph.facet_name(f);
            match name.split_once(':') {
                Some(("intent", intent)) => format!("intent {intent}"),
                Some((_, rest)) => rest.to_string(),
                None => name.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural<'a>(n: u32, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// "just now", "5 minutes ago", "3 hours ago", "2 days ago".
fn ago(ms: i64) -> String {
    let minutes = ms.max(0) / 60_000;
    let (n, unit) = match minutes {
        0 => return "just now".to_string(),
        1..=59 => (minutes, "minute"),
        60..=1439 => (minutes / 60, "hour"),
        _ => (minutes / 1440, "day"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_naturally() {
        assert_eq!(ago(10_000), "just now");
        assert_eq!(ago(60_000), "1 minute ago");
        assert_eq!(ago(3 * 3_600_000), "3 hours ago");
        assert_eq!(ago(2 * 86_400_000), "2 days ago");
    }

    #[test]
    fn reasons_cover_each_kind_of_evidence() {
        let graph = Hypergraph::new(24.0);
        let evidence = Evidence {
            similar_customers: 14,
            similar_in_context: 9,
            own_uses: 1,
            own_last_at_ms: 0,
            popular_rank: 3,
            model_similarity: 0.81,
        };
        let query = QueryVertices {
            at_ms: 86_400_000,
            ..QueryVertices::default()
        };
        let reasons = reasons(&graph, &query, &evidence, false);
        assert_eq!(
            reasons,
            [
                "chosen by 14 similar customers, 9 of them in a context like this one \
                 (weekday/night)",
                "you chose it 1 time before, last 1 day ago",
                "#3 most popular overall",
                "the model matches it to this moment (similarity 0.81)",
            ]
        );
    }
}
