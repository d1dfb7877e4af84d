/** The process runtime: core Deps, the Service shape, and preparing the infrastructure. */
export {
  type CreateDepsOptions,
  closeDeps,
  createDeps,
  type Deps,
  prepare,
  type Service,
} from './deps.ts'
