/** Monitoring segments: families, age bands, segment keys and the per-family cap. */
export {
  AGE_BANDS,
  ageBand,
  OTHER_SEGMENT,
  SEGMENT_FAMILIES,
  SEGMENT_FAMILY_DRIFT,
  SegmentCap,
  type SegmentCapSnapshot,
  type SegmentFamily,
  segmentFamily,
  segmentKey,
  segmentValues,
  UNKNOWN_SOURCE,
  WHOLE_POPULATION,
} from './segments.ts'
