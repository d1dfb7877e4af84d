/** The model contract, its scorer and its artifact encoding: everything inference needs. */
export * from './artifact.ts'
export * from './scorer.ts'
export type * from './types.ts'
export * from './validate.ts'
export * from './warmup.ts'
