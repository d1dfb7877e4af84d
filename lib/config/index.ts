/** Configuration: every setting validated once from the environment (schema.ts), frozen. */
export {
  type Config,
  childEnv,
  configWith,
  type Env,
  EnvSchema,
  getConfig,
  loadConfig,
  parseDurations,
  REPO_ROOT,
  testMode,
} from './config.ts'
