/** Monitoring segments: families, age bands, segment keys and the per-family cap. */
export {
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
} from './segments.ts'
