/** The monitors' settings (DRIFT_* in lib/config), as the rules read them. */
import type { Config } from '../../../../lib/config/index.ts'

export type DriftSettings = Config['drift']
