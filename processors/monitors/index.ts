/** Public face of the monitors role: the service (see service.ts for the pipeline, engine/ for the windows and rules). */
export { createMonitorService, type MonitorService, type MonitorServiceOptions } from './service.ts'
