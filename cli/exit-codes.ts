/** The CLI's exit codes: documented in the README and `riskstream --help`, and distinct. */
export const EXIT = {
  OK: 0,
  /** A command failed (the one-line message on stderr says why). */
  FAILURE: 1,
  /** The command line was wrong: unknown command or option, bad value. */
  USAGE: 2,
  /** `drift-check`: the monitors recommend retraining (the monitoring workflow branches on it). */
  RETRAIN_RECOMMENDED: 3,
  /** Stopped by SIGINT/SIGTERM before the command finished its work (128 + SIGINT). */
  INTERRUPTED: 130,
} as const

export const EXIT_CODES_HELP = `Exit codes:
  0    success
  1    failure (one line on stderr: code and message)
  2    usage error (unknown command or option, bad value)
  3    drift-check: retraining is recommended
  130  interrupted (Ctrl-C / SIGTERM) before the command finished`
