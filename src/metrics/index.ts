/**
 * Seeing IPVS work: Prometheus text, the status page's data and page, and
 * the server that serves them. Above the client: uses only its listings.
 */
export { renderMetrics, writeMetrics, metricChunks, estimateBytes, CHUNK_ROOM, escapeLabelValue, type RenderExtras, type RenderOptions } from './prometheus.js';
export { acceptsGzip } from './server.js';
export { buildStatus, type StatusDocument, type StatusService, type StatusDestination, type StatusStats } from './status.js';
export { renderPage, type PageOptions } from './page.js';
export { RateHistory, type HistoryOptions, type RateSeries } from './history.js';
export { StatusServer, DEFAULT_PORT, type StatusServerOptions, type ListingSource } from './server.js';
export { ByteWriter, ChunkPool } from './text.js';
export {
  serviceId,
  destinationId,
  HEALTH_STATES,
  type HealthState,
  type HealthSource,
  type HealthSnapshot,
  type DestinationHealth,
  type ReconcileHealth,
  type DurationHistogram,
} from './health.js';
export { AgentHealth, parseAgentServiceId } from './agent.js';
