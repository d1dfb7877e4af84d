/** Monitoring segments: families, age bands, segment keys, the per-family cap and admission, and the shadow lane. */
export {
  ageBand,
  CandidateCounts,
  LANE_FAMILY,
  MAX_SHADOW_VERSIONS,
  OTHER_SEGMENT,
  SEGMENT_CANDIDATES_PER_FAMILY,
  SEGMENT_FAMILIES,
  SEGMENT_FAMILY_DRIFT,
  SegmentCap,
  type SegmentCapSnapshot,
  type SegmentFamily,
  SHADOW_SEGMENT,
  segmentFamily,
  segmentKey,
  segmentValues,
} from './segments.ts'
