// Open-loop load on hyperrec: constant arrival rates, so a slow server
// meets the same offered load instead of a politely waiting client.
//
//   90% Recommend over varied customers (5% unknown), contexts and intents
//   10% RecordInteraction
//
// Environment: TARGET (host:port, default 127.0.0.1:50051), RATE (total
// calls per second, default 1000), DURATION (default 20s), SUMMARY (path
// of the JSON summary, default summary.json), CUSTOMERS and PRODUCTS (the
// demo data's sizes, defaults 10000 and 2000).
//
// The proto comes from server reflection: no .proto file is needed.

import grpc from 'k6/net/grpc';
import { Counter } from 'k6/metrics';

const target = __ENV.TARGET || '127.0.0.1:50051';
const rate = parseInt(__ENV.RATE || '1000', 10);
const duration = __ENV.DURATION || '20s';
const customers = parseInt(__ENV.CUSTOMERS || '10000', 10);
const products = parseInt(__ENV.PRODUCTS || '2000', 10);

const recommendRate = Math.max(1, Math.round(rate * 0.9));
const recordRate = Math.max(1, rate - recommendRate);

// Enough virtual users that arrivals never wait for a free one at a few
// milliseconds per call; k6 reports "dropped_iterations" if they ever do.
function arrival(exec, perSecond) {
  return {
    executor: 'constant-arrival-rate',
    exec,
    rate: perSecond,
    timeUnit: '1s',
    duration,
    preAllocatedVUs: Math.max(8, Math.ceil(perSecond / 50)),
    maxVUs: Math.max(32, Math.ceil(perSecond / 5)),
  };
}

export const options = {
  scenarios: {
    recommend: arrival('recommend', recommendRate),
    record: arrival('record', recordRate),
  },
  summaryTrendStats: ['min', 'med', 'p(95)', 'p(99)', 'max', 'avg'],
  // Thresholds that always pass: they only make k6 keep per-scenario
  // latency in the summary.
  thresholds: {
    'grpc_req_duration{scenario:recommend}': ['max>=0'],
    'grpc_req_duration{scenario:record}': ['max>=0'],
  },
};

const SOURCES = ['hgnn+ranker', 'hypergraph_cf', 'popular_in_context', 'popular', 'cache'];
const sourceCounters = {};
for (const source of SOURCES) {
  sourceCounters[source] = new Counter(`source_${source.replace(/[^a-z]/g, '_')}`);
}
const degraded = new Counter('degraded');
const failures = new Counter('failures');
const items = new Counter('items');

const DEVICES = ['mobile', 'desktop', 'tablet'];
const LOCATIONS = ['home', 'work', 'gym', 'commute', 'store'];
const WEATHER = ['sun', 'rain', 'snow'];
const INTENTS = ['browse', 'compare', 'cart', 'buy', ''];

const client = new grpc.Client();
let connected = false;

function pick(list) {
  return list[Math.floor(Math.random() * list.length)];
}

function customer() {
  if (Math.random() < 0.05) {
    return `loadtest-new-${Math.floor(Math.random() * 1e9)}`;
  }
  return `c${String(Math.floor(Math.random() * customers)).padStart(5, '0')}`;
}

function context() {
  const ctx = { device: pick(DEVICES), location: pick(LOCATIONS) };
  if (Math.random() < 0.5) {
    ctx.weather = pick(WEATHER);
  }
  return ctx;
}

function connect() {
  if (!connected) {
    client.connect(target, { plaintext: true, reflect: true, timeout: '10s' });
    connected = true;
  }
}

export function recommend() {
  connect();
  const response = client.invoke('hyperrec.v1.DecisionService/Recommend', {
    customer_id: customer(),
    context: context(),
    intent: pick(INTENTS),
    limit: 20,
  }, { timeout: '2s' });
  if (response.status !== grpc.StatusOK) {
    failures.add(1, { rpc: 'recommend' });
    return;
  }
  const source = response.message.source;
  if (sourceCounters[source]) {
    sourceCounters[source].add(1);
  }
  if (response.message.degraded) {
    degraded.add(1);
  }
  items.add((response.message.recommendations || []).length);
}

export function record() {
  connect();
  const response = client.invoke('hyperrec.v1.DecisionService/RecordInteraction', {
    customer_id: customer(),
    product_id: `p${String(Math.floor(Math.random() * products)).padStart(5, '0')}`,
    context: context(),
    intent: pick(INTENTS) || 'browse',
  }, { timeout: '2s' });
  if (response.status !== grpc.StatusOK) {
    failures.add(1, { rpc: 'record' });
  }
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY || 'summary.json']: JSON.stringify(data, null, 1) };
}
