/** Configuration: every setting validated once from the environment (schema.ts), frozen. */
export {
  browserEnv,
  type Config,
  childEnv,
  configWith,
  ENV_ALIASES,
  type Env,
  type EnvAlias,
  EnvSchema,
  getConfig,
  loadConfig,
  parseDurations,
  REPO_ROOT,
  setTestRunTag,
  testMode,
  testRunTag,
} from './config.ts'
